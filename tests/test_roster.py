"""`kadam roster import`, as a state team sees it: who got in, with which phone, and which rows
were refused and why. Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from bot.sheets.roster import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, RosterRow, validate
from storage.db import Database
from storage.models import Person, School

COLUMNS = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]

ASHA = {
    "role": "headmaster",
    "name": "Asha Patil",
    "phone": "98220 12345",
    "language": "mr",
    "school_code": "27250100101",
    "school_name": "ZP School Wagholi",
    "district": "Pune",
    "block": "Haveli",
    "cluster": "Wagholi",
}
RAVI = {
    "role": "BEO",
    "name": "Ravi Kale",
    "phone": "+91 98220-12346",
    "language": "hi",
    "district": "Pune",
    "block": "Haveli",
}
MEENA = {"role": "state", "name": "Meena Rao", "phone": "98220 12347", "language": ""}


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def roster_import(db: Database, monkeypatch: pytest.MonkeyPatch):
    """Runs `kadam roster import` against the test database."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.delenv("KADAM_DEFAULT_REGION", raising=False)

    def run(path: Path, *options: str) -> Result:
        return CliRunner().invoke(main, ["roster", "import", str(path), *options])

    return run


def people(db: Database) -> dict[str, Person]:
    with db.transaction() as session:
        return {p.phone: p for p in session.scalars(select(Person))}


def schools(db: Database) -> dict[str, School]:
    with db.transaction() as session:
        return {s.code: s for s in session.scalars(select(School))}


def test_import_loads_headmasters_beos_state_team_and_schools(db, roster_import, tmp_path):
    result = roster_import(write_csv(tmp_path / "roster.csv", [ASHA, RAVI, MEENA]))

    assert result.exit_code == 0, result.output
    assert "schools: 1 created, 0 updated" in result.stdout
    assert "headmasters: 1 created, 0 updated" in result.stdout
    assert "BEOs: 1 created, 0 updated" in result.stdout
    assert "state team: 1 created, 0 updated" in result.stdout
    found = people(db)
    assert set(found) == {"+919822012345", "+919822012346", "+919822012347"}
    asha, ravi, meena = found["+919822012345"], found["+919822012346"], found["+919822012347"]
    school = schools(db)["27250100101"]
    assert school.name == "ZP School Wagholi"
    assert (school.district, school.block, school.cluster) == ("Pune", "Haveli", "Wagholi")
    assert (asha.role, asha.language, asha.channel) == ("headmaster", "mr", "whatsapp")
    assert asha.school_id == school.id
    assert (ravi.role, ravi.district, ravi.block, ravi.school_id) == ("beo", "Pune", "Haveli", None)
    assert (meena.role, meena.language) == ("state", "en")  # blank language means English


def test_both_phone_forms_are_the_same_person(db, roster_import, tmp_path):
    roster_import(write_csv(tmp_path / "first.csv", [ASHA]))
    renamed = {**ASHA, "phone": "+91 98220-12345", "name": "Asha S. Patil"}

    result = roster_import(write_csv(tmp_path / "second.csv", [renamed]))

    assert result.exit_code == 0, result.output
    assert "headmasters: 0 created, 1 updated" in result.stdout
    assert [p.name for p in people(db).values()] == ["Asha S. Patil"]


def test_reimport_updates_in_place(db, roster_import, tmp_path):
    roster_import(write_csv(tmp_path / "first.csv", [ASHA, RAVI]))
    before_person, before_school = people(db)["+919822012345"], schools(db)["27250100101"]
    with db.transaction() as session:  # Asha had replied STOP; a new roster must not undo that
        session.get(Person, before_person.id).opted_out_at = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    moved = {
        **ASHA,
        "school_name": "ZP Model School Wagholi",
        "block": "Mulshi",
        "language": "hi",
        "channel": "sms",
        "timezone": "Asia/Kolkata",
    }

    result = roster_import(write_csv(tmp_path / "second.csv", [moved, RAVI]))

    assert result.exit_code == 0, result.output
    assert "schools: 0 created, 1 updated" in result.stdout
    assert "headmasters: 0 created, 1 updated" in result.stdout
    assert len(people(db)) == 2 and len(schools(db)) == 1
    asha, school = people(db)["+919822012345"], schools(db)["27250100101"]
    assert (asha.id, asha.language, asha.channel) == (before_person.id, "hi", "sms")
    assert asha.opted_out_at is not None
    assert (school.id, school.name) == (before_school.id, "ZP Model School Wagholi")
    assert (school.block, school.timezone) == ("Mulshi", "Asia/Kolkata")


def test_known_school_keeps_its_details_when_the_row_leaves_them_blank(db, roster_import, tmp_path):
    roster_import(write_csv(tmp_path / "first.csv", [ASHA]))
    second_headmaster = {
        "role": "headmaster",
        "name": "Vikas More",
        "phone": "98220 12348",
        "school_code": "27250100101",
    }

    result = roster_import(write_csv(tmp_path / "second.csv", [second_headmaster]))

    assert result.exit_code == 0, result.output
    school = schools(db)["27250100101"]
    assert (school.name, school.district, school.block) == ("ZP School Wagholi", "Pune", "Haveli")
    assert people(db)["+919822012348"].school_id == school.id


BAD_ROWS = [
    ({"phone": "call me"}, "phone 'call me' is not a valid phone number"),
    ({"phone": "12345"}, "phone '12345' is not a valid phone number"),
    ({"role": "teacher"}, "role 'teacher' is not one of headmaster, beo, deo, state"),
    ({"school_code": ""}, "a headmaster row needs a school_code"),
    ({"school_code": "NEW1", "school_name": ""}, "school NEW1 is new, so its school_name"),
    ({"channel": "telegram"}, "channel 'telegram' is not one of whatsapp, sms"),
    ({"language": "xx"}, "language 'xx' is not a known language code"),
    ({"timezone": "Asia/Mumbai"}, "timezone 'Asia/Mumbai' is not a time zone"),
    ({"role": "beo", "school_code": "", "block": ""}, "a BEO row needs its district and block"),
]


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_a_bad_row_is_reported_with_its_row_number_and_nothing_is_imported(
    db, roster_import, tmp_path, change, reason
):
    bad = {**ASHA, "phone": "98220 99999", "school_code": "27250100102", **change}

    result = roster_import(write_csv(tmp_path / "roster.csv", [RAVI, bad, MEENA]))

    assert result.exit_code == 1
    assert f"row 3: {reason}" in result.stderr
    assert "row 2" not in result.stderr and "row 4" not in result.stderr
    assert "nothing imported" in result.stderr
    assert people(db) == {} and schools(db) == {}


def test_the_same_phone_twice_rejects_both_rows(db, roster_import, tmp_path):
    twin = {**RAVI, "phone": "9822012346", "name": "Ravi K."}
    path = write_csv(tmp_path / "roster.csv", [RAVI, ASHA, twin])

    result = roster_import(path)

    assert result.exit_code == 1
    for row in (2, 4):
        assert f"row {row}: phone +919822012346 appears on rows 2, 4" in result.stderr
    assert people(db) == {}

    result = roster_import(path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert list(people(db)) == ["+919822012345"]
    assert "rows skipped: 2" in result.stdout


def test_skip_invalid_imports_the_valid_rows_and_lists_the_others(db, roster_import, tmp_path):
    bad_phone = {**MEENA, "phone": "12345"}
    bad_role = {**MEENA, "phone": "98220 12349", "role": "clerk"}
    path = write_csv(tmp_path / "roster.csv", [ASHA, bad_phone, RAVI, bad_role])

    result = roster_import(path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "row 3: phone '12345'" in result.stderr
    assert "row 5: role 'clerk'" in result.stderr
    assert "rows skipped: 2" in result.stdout
    assert set(people(db)) == {"+919822012345", "+919822012346"}
    assert set(schools(db)) == {"27250100101"}


def test_xlsx_with_free_column_order_numeric_cells_and_a_blank_row(db, roster_import, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "Phone",
            "Name",
            "ROLE",
            "Language",
            "School Code",
            "School Name",
            "District",
            "Block",
            "Cluster",
            "Remarks",
        ]
    )
    # Excel keeps digits typed into a cell as numbers.
    sheet.append(
        [
            9822012345,
            "Asha Patil",
            "Headmaster",
            "mr",
            27250100101,
            "ZP School Wagholi",
            "Pune",
            "Haveli",
            "Wagholi",
            "new HM",
        ]
    )
    sheet.append([])
    sheet.append(["12345", "Typo", "headmaster", "mr", 27250100101, "", "", "", "", ""])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)

    result = roster_import(path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "row 4: phone '12345'" in result.stderr  # the blank row 3 still counts
    asha = people(db)["+919822012345"]
    assert (asha.name, asha.role) == ("Asha Patil", "headmaster")
    assert asha.school_id == schools(db)["27250100101"].id


def test_excel_csv_with_byte_order_mark_and_loose_headings(db, roster_import, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(
        " Role ,NAME,Phone,language,School_Code,school name,District,Block,Cluster,Notes\n"
        "headmaster,Asha Patil,98220 12345,mr,S1,ZP School,Pune,Haveli,Wagholi,called twice\n",
        encoding="utf-8-sig",
    )

    result = roster_import(path)

    assert result.exit_code == 0, result.output
    assert people(db)["+919822012345"].name == "Asha Patil"


def test_a_missing_column_is_named(db, roster_import, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("role,name,language,school_code\nstate,Meena,en,\n")

    result = roster_import(path)

    assert result.exit_code == 1
    assert "lacks the column(s) phone, school_name, district, block, cluster" in result.stderr
    assert people(db) == {}


def test_a_csv_not_saved_as_utf8_is_explained(roster_import, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [{**MEENA, "name": "Anaïs"}], encoding="cp1252")

    result = roster_import(path)

    assert result.exit_code == 1
    assert "save it as 'CSV UTF-8'" in result.stderr


def test_phones_follow_the_default_region(db, roster_import, tmp_path, monkeypatch):
    monkeypatch.setenv("KADAM_DEFAULT_REGION", "RW")
    teacher = {**ASHA, "phone": "0788 123 456", "language": "rw", "timezone": "Africa/Kigali"}

    result = roster_import(write_csv(tmp_path / "roster.csv", [teacher]))

    assert result.exit_code == 0, result.output
    assert people(db)["+250788123456"].language == "rw"


def test_progress_bar_only_on_large_files(db, roster_import, tmp_path):
    small = roster_import(write_csv(tmp_path / "small.csv", [ASHA]))
    state_team = [{**MEENA, "phone": f"98221{n:05d}", "name": f"Officer {n}"} for n in range(1001)]
    large = roster_import(write_csv(tmp_path / "large.csv", state_team))

    assert small.exit_code == 0 and large.exit_code == 0, large.output
    assert "writing" not in small.stderr
    assert "writing" in large.stderr and "1001/1001" in large.stderr
    assert "state team: 1001 created" in large.stdout
    assert len(people(db)) == 1002


# The pure checks, without a database.


def test_validate_gives_canonical_values():
    row = RosterRow(
        2,
        role="BEO",
        name="Ravi",
        phone="+91 98220-12346",
        language="HI",
        second_language="en",
        channel="SMS",
        district="Pune",
        block="Haveli",
    )

    valid, errors = validate([row], "IN")

    assert errors == []
    beo = valid[0]
    assert (beo.role, beo.phone, beo.language, beo.channel) == ("beo", "+919822012346", "hi", "sms")


def test_validate_lets_a_known_school_omit_its_name():
    row = RosterRow(2, role="headmaster", name="Vikas", phone="9822012348", school_code="S1")

    assert validate([row], "IN")[1] != []
    assert validate([row], "IN", known_school_codes={"S1"})[1] == []
