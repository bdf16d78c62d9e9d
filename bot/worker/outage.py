"""The worker without its database: stop sending, say so once, wait, resume.

A message sent that cannot be recorded would be sent again by whoever claims it next, so while
the database cannot be reached the worker claims and sends nothing. Every thread that meets
the outage reports it here; the first report logs one line, the return logs one more, and in
between the threads wait, asking the database again with a growing pause (up to MAX_PAUSE).
"""

from __future__ import annotations

import logging
import threading
import time

from storage.db import Database
from storage.ping import ping

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
MAX_PAUSE = 15.0


def reason(error: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's statement and parameters (phone numbers,
    message text)."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


class DatabaseGate:
    def __init__(self, database: Database):
        self.db = database
        self._down = threading.Event()
        self._lock = threading.Lock()
        self._since = 0.0

    @property
    def down(self) -> bool:
        return self._down.is_set()

    def report(self, error: BaseException) -> None:
        """The database could not be reached: sending stops (one line, however many
        threads and messages meet it)."""
        with self._lock:
            if self._down.is_set():
                return
            self._down.set()
            self._since = time.monotonic()
        log.warning("database unreachable (%s): sending paused until it answers",
                    reason(error))

    def wait_until_up(self, stopping: threading.Event) -> bool:
        """Waits, asking the database with a growing pause, until it answers (True) or the
        worker stops (False)."""
        pause = FIRST_PAUSE
        while self._down.is_set():
            if stopping.is_set():
                return False
            try:
                ping(self.db)
            except Exception:  # noqa: BLE001 - still down, whatever the driver says
                stopping.wait(pause)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            with self._lock:
                if self._down.is_set():
                    self._down.clear()
                    log.warning("database reachable again after %.0f s: sending resumed",
                                time.monotonic() - self._since)
        return True
