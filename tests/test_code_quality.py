"""The code stays readable: ruff on everything, mypy on flows, storage and bot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, check=False)


def test_ruff_finds_nothing():
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_on_flows_storage_and_the_bot():
    result = run("mypy", "flows", "storage", "bot")
    assert result.returncode == 0, result.stdout + result.stderr


def test_flows_do_no_io():
    """flows/ imports no web, database or Twilio library and never reads the clock."""
    forbidden = ("flask", "sqlalchemy", "twilio", "requests", "storage", "bot")
    paths = sorted((ROOT / "flows").rglob("*.py"))
    assert {"headmaster.py", "officer.py", "intents.py"} <= {path.name for path in paths}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for name in forbidden:
            assert f"import {name}" not in text and f"from {name}" not in text, (path, name)
        assert ".now(" not in text and "today()" not in text, path
