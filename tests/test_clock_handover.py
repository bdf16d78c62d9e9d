"""`kadam clock` stops cleanly on SIGTERM and a standby takes over within seconds.

Two real `kadam clock` processes on one database: one leads, the other stands by. SIGTERM
to the active one ends it (exit status 0, its lock given up), and the standby becomes active
within 10 seconds, on SQLite (a lease row) and on PostgreSQL (an advisory lock).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

TAKEOVER_SECONDS = 10


class ClockProcess:
    def __init__(self, db_url: str, tmp_path: object):
        env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "k" * 64,
               "MEDIA_DIR": str(tmp_path), "LOG_LEVEL": "INFO",
               "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "kadam"), "clock", "--interval", "60"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> float:
        """Seconds until a line containing `text` appears (fails after `timeout`)."""
        start = time.monotonic()
        if any(text in line for line in self.seen):
            return 0.0
        while time.monotonic() - start < timeout:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return time.monotonic() - start
        raise AssertionError(f"no {text!r} within {timeout}s: {''.join(self.seen)}")

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.reader.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def clocks(db_url, tmp_path):
    started: list[ClockProcess] = []

    def start() -> ClockProcess:
        clock = ClockProcess(db_url, tmp_path)
        started.append(clock)
        return clock

    yield start
    for clock in started:
        clock.end()


def test_sigterm_ends_the_active_clock_and_a_standby_takes_over_within_10_seconds(clocks):
    active = clocks()
    active.wait_for(": active", 30)
    standby = clocks()
    standby.wait_for(": standing by", 30)
    time.sleep(1)  # the standby has asked at least once, and been refused

    active.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert active.process.wait(15) == 0
    active.wait_for("the lock is free", 5)
    standby.wait_for(": active", TAKEOVER_SECONDS)
    assert time.monotonic() - stopped_at < TAKEOVER_SECONDS + 1
    assert standby.process.poll() is None

    standby.process.send_signal(signal.SIGTERM)
    assert standby.process.wait(15) == 0
