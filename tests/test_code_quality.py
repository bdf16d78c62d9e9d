"""The code stays readable: ruff on everything, mypy on flows, storage and bot; SQL in storage/;
no module of bot/ or storage/ past 500 lines."""

from __future__ import annotations

import ast
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


MOST_LINES = 500


def test_no_module_of_the_bot_or_storage_is_longer_than_500_lines():
    """A module past MOST_LINES is split along a seam of its own (the worker's rate limiter,
    the officers' messages, the models by area), not left to grow."""
    lengths = {path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
               for folder in ("bot", "storage") for path in (ROOT / folder).rglob("*.py")}
    assert len(lengths) > 50  # the walk found the modules
    long = {path: lines for path, lines in lengths.items() if lines > MOST_LINES}
    assert not long, f"split these modules (at most {MOST_LINES} lines each): {long}"



# bot/engine/ applies a flow's effects and writes the clock's batches (the database side of
# the engine). Everywhere else in bot/, queries are storage/'s functions.
BUILDS_QUERIES = ("bot/engine/",)
STATEMENTS = {"select", "insert", "update", "delete", "text", "func", "and_", "or_", "case",
              "exists", "literal", "union", "tuple_", "bindparam"}


def test_the_bot_leaves_sql_to_storage():
    """Outside BUILDS_QUERIES, bot/ imports no SQL statement builder from SQLAlchemy."""
    found = {}
    for path in (ROOT / "bot").rglob("*.py"):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith(BUILDS_QUERIES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {alias.name for alias in node.names}
                if node.module.startswith("sqlalchemy.dialects") or names & STATEMENTS:
                    found.setdefault(name, []).append(node.module)
    assert not found, f"move these queries to storage/: {found}"
