"""`kadam phrases export` writes the taught phrases as a phrase file (the shipped files'
format, every language in one file, sorted) that loads back as it was taught; `kadam phrases
list` shows who taught what."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from click.testing import CliRunner

from bot.cli import main
from storage import phrases

NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
SHIPPED = Path(__file__).resolve().parent.parent / "flows" / "phrases"
TAUGHT = (("mr", "zala nahi ajun", "in_progress"), ("mr", "kam chalu aahe", "in_progress"),
          ("hi", "kaam chalu hai par photo nahi gaya", "help"), ("hi", "haan ji bilkul", "yes"),
          ("hi", "abhi nahi", "no"), ("mr", "झालं बरं का", "done"), ("sw", "kazi imeisha", "done"))


def teach_all(db) -> None:
    with db.transaction() as session:
        for language, phrase, intent in TAUGHT:
            phrases.teach(session, language, phrase, intent, "state@example.org", NOW)


def expected() -> dict[str, dict[str, dict[str, list[str]]]]:
    result: dict[str, dict[str, dict[str, list[str]]]] = {}
    for language, phrase, intent in TAUGHT:
        result.setdefault(language, {"intents": {}})["intents"].setdefault(intent, []).append(
            phrase)
    for language in result.values():
        for listed in language["intents"].values():
            listed.sort()
    return result


def test_export_writes_a_phrase_file_that_loads_back(db, tmp_path, monkeypatch):
    # A reader that honours taught phrases, so the two taught as done are stored whatever
    # today's reader makes of them.
    monkeypatch.setattr(phrases.intents, "parse", lambda text, language="en", taught=(): next(
        phrases.intents.Intent(t.intent) for t in taught if t.phrase == text))
    teach_all(db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    out = tmp_path / "taught.yaml"
    result = CliRunner().invoke(main, ["phrases", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"7 taught phrases written to {out}" in result.output
    text = out.read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert loaded == expected()
    assert list(loaded) == ["hi", "mr", "sw"]
    assert list(loaded["hi"]["intents"]) == ["help", "no", "yes"]
    # Laid out as the shipped files are, so its lines can be pasted under theirs.
    assert "hi:\n  intents:\n    help:\n      - kaam chalu hai par photo nahi gaya\n" in text
    assert "    'no':\n      - abhi nahi\n    'yes':\n      - haan ji bilkul\n" in text
    assert "      - झालं बरं का\n" in text
    shipped = yaml.safe_load((SHIPPED / "hi.yaml").read_text(encoding="utf-8"))
    assert set(shipped) == {"hi"} and "intents" in shipped["hi"]
    assert set(loaded["hi"]["intents"]) <= set(shipped["hi"]["intents"])
    # A merge: the shipped file's lists grow by what was taught, and it still loads.
    merged = shipped["hi"]["intents"]
    for intent, taught in loaded["hi"]["intents"].items():
        merged[intent] = sorted({*merged[intent], *taught})
    assert yaml.safe_load(yaml.safe_dump(shipped, allow_unicode=True)) == shipped

    # To standard output, and one language only.
    result = CliRunner().invoke(main, ["phrases", "export", "--out", "-", "--language", "mr"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == {"mr": expected()["mr"]}
    result = CliRunner().invoke(main, ["phrases", "export", "--out", "-", "--language", "xx"])
    assert result.exit_code != 0 and "not a language Kadam speaks" in result.output


def test_export_with_nothing_taught_is_an_empty_file(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    result = CliRunner().invoke(main, ["phrases", "export", "--out", "-"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout) is None


def test_list_shows_language_phrase_intent_who_and_when(db, monkeypatch):
    with db.transaction() as session:
        phrases.teach(session, "mr", "zala nahi ajun", "in_progress", "asha@example.org", NOW)
    monkeypatch.setenv("DATABASE_URL", db.url)
    result = CliRunner().invoke(main, ["phrases", "list"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("mr\tzala nahi ajun\tin_progress\tasha@example.org\t"
                             "2026-11-20T06:00+00:00\n")
