"""A roster file too big to be a roster is refused before it is parsed, with a clear answer,
and nothing is imported (issue 13: a 318 KB workbook used to unpack into 200,000 rows and
160 MB before any check)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.sheets import roster
from storage.models import Person
from tests.test_roster import ASHA, COLUMNS, write_csv


@pytest.fixture
def run(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)

    def invoke(path: Path):
        return CliRunner().invoke(main, ["roster", "import", str(path)])
    return invoke


def _people(db) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Person))


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(COLUMNS)
    book.active.append([ASHA.get(c, "") for c in COLUMNS])
    book.save(path)
    return path


def test_a_workbook_that_unpacks_far_beyond_its_size_is_refused_unread(db, run, tmp_path):
    path = _workbook(tmp_path / "roster.xlsx")
    # Forty megabytes of one repeated byte pack into a few kilobytes: what a zip bomb does.
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (40 * 1024 * 1024))
    assert path.stat().st_size < 200 * 1024

    result = run(path)

    assert result.exit_code != 0
    assert "roster.xlsx unpacks to 40 MB" in result.output
    assert "far more than a roster needs" in result.output
    assert _people(db) == 0


def test_an_ordinary_workbook_still_imports(db, run, tmp_path):
    result = run(_workbook(tmp_path / "roster.xlsx"))
    assert result.exit_code == 0, result.output
    assert _people(db) == 1


def test_too_many_rows_are_refused_with_the_row_where_it_stopped(db, run, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(roster, "MAX_ROWS", 3)
    people = [{**ASHA, "phone": f"98220 1234{n}", "school_code": f"2725010010{n}"}
              for n in range(5)]
    result = run(write_csv(tmp_path / "roster.csv", people))

    assert result.exit_code != 0
    assert "more than 3 rows (row 5)" in result.output
    assert "split it into several files" in result.output
    assert _people(db) == 0
