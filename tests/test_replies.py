"""Replies the way headmasters type them, held as data in tests/replies/<language>.yaml.

The rows were written without looking at the parser's phrase tables, the way the hidden
evaluation set was, so they check the parser against real replies rather than against itself.
Each row is one test: the intent read, the task number (none unless the row gives one), and the
days or school code when the row gives them. An `expect_not` row only asserts what the reply
must never be read as (a negation read as done, a "non-stop" read as stop).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.intents import parse

REPLIES = Path(__file__).resolve().parent / "replies"
LANGUAGES = ("en", "hi", "mr", "bn", "gu", "kn", "ta", "te", "pa", "or", "as", "rw", "sw", "fr")
MIN_ROWS = 45
INTENTS = frozenset({
    "done", "in_progress", "help", "skip", "yes", "no", "later", "pause", "stop", "start",
    "status", "tasks", "menu", "language", "add_task", "details", "school", "undo", "unknown",
})
KEYS = frozenset({"text", "intent", "expect_not", "number", "days", "code", "note"})


def _rows(path: Path) -> list[dict[str, Any]]:
    """The rows of one file, or none when it does not load (test_every_file_is_well_formed
    says why)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []
    if not isinstance(data, list):
        return []
    return [row for row in data if isinstance(row, dict) and isinstance(row.get("text"), str)]


FILES = sorted(REPLIES.glob("*.yaml"))
ROWS = [(path.stem, row) for path in FILES for row in _rows(path)]


def _describe(lang: str, row: dict[str, Any], got: Any) -> str:
    note = f" ({row['note']})" if row.get("note") else ""
    read = (f"{got.name!s} number={got.number!r} days={getattr(got, 'days', '<none>')!r} "
            f"code={getattr(got, 'code', '<none>')!r}")
    expected = {key: row[key] for key in ("intent", "expect_not", "number", "days", "code")
                if key in row}
    return f"[{lang}] {row['text']!r}{note}\n  expected {expected}\n  read     {read}"


@pytest.mark.parametrize(("lang", "row"), ROWS, ids=[f"{lang}:{row['text']}" for lang, row in ROWS])
def test_reply(lang: str, row: dict[str, Any]) -> None:
    got = parse(row["text"], lang)
    message = _describe(lang, row, got)
    if "expect_not" in row:
        assert str(got.name) != row["expect_not"], message
        return
    assert str(got.name) == row["intent"], message
    assert got.number == row.get("number"), message
    if "days" in row:
        assert getattr(got, "days", None) == row["days"], message
    if "code" in row:
        assert getattr(got, "code", None) == row["code"], message


def test_every_language_has_a_file_with_enough_rows() -> None:
    counts = {path.stem: len(_rows(path)) for path in FILES}
    assert set(counts) == set(LANGUAGES), sorted(set(counts) ^ set(LANGUAGES))
    short = {lang: n for lang, n in counts.items() if n < MIN_ROWS}
    assert not short, f"fewer than {MIN_ROWS} rows: {short}"


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_every_file_is_well_formed(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, list), f"{path.name}: a YAML list of rows"
    seen: set[str] = set()
    for i, row in enumerate(data):
        where = f"{path.name} row {i + 1}: {row!r}"
        assert isinstance(row, dict), where
        assert not set(row) - KEYS, f"{where}: unknown keys {sorted(set(row) - KEYS)}"
        assert isinstance(row.get("text"), str) and row["text"].strip(), f"{where}: text"
        assert row["text"] not in seen, f"{where}: the same text twice"
        seen.add(row["text"])
        assert ("intent" in row) != ("expect_not" in row), f"{where}: intent or expect_not"
        assert row.get("intent", row.get("expect_not")) in INTENTS, f"{where}: not an intent"
        if "expect_not" in row:
            assert not set(row) & {"number", "days", "code"}, f"{where}: expect_not only"
        if "number" in row:
            number = row["number"]
            assert type(number) is int and number > 0, f"{where}: number"
        if "days" in row:
            days = row["days"]
            assert type(days) is int and days > 0, f"{where}: days"
            assert row.get("intent") in {"later", "pause"}, f"{where}: days on later/pause"
        if "code" in row:
            assert isinstance(row["code"], str) and row["code"].isdigit(), f"{where}: code"
            assert row.get("intent") == "school", f"{where}: code on school"
        if "note" in row:
            assert isinstance(row["note"], str), f"{where}: note"
