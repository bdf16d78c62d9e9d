"""The worker's sending rate: MESSAGES_PER_SECOND, shared by the threads of one worker process."""

from __future__ import annotations

import threading
import time


class Pace:
    """A token bucket holding one token: sends are spaced at least 1/rate apart, whichever
    thread makes them. A rate of 0 or less means no limit.

    Each caller reserves the next free slot under the lock and sleeps outside it, so the
    threads share the rate without queueing on the lock. Idle time does not bank a burst.
    """

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
