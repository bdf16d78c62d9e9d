"""`kadam roster import`: load headmasters, BEOs, the state team and their schools from CSV or XLSX.

Reading and checking the file are pure functions (read_rows, validate, schools_and_people) that
tests call without a database; storage.roster.upsert writes the result in one transaction.
"""

from __future__ import annotations

import csv
import re
import sys
import zipfile
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import openpyxl
import phonenumbers
from babel import Locale, UnknownLocaleError
from openpyxl.utils.exceptions import InvalidFileException
from tqdm import tqdm

from flows.registry import FLOWS
from storage.db import Database
from storage.roster import RosterPerson, RosterSchool, existing_school_codes, upsert

REQUIRED_COLUMNS = tuple(
    "role name phone language school_code school_name district block cluster".split()
)
OPTIONAL_COLUMNS = ("channel", "second_language", "state", "timezone")
# Every role with a conversation (flows/registry.py: a new role is one entry there), and the
# state team, who work on the dashboard. deo: a district education officer.
ROLES = (*FLOWS, "state")
CHANNELS = ("whatsapp", "sms", "whatsapp-only")
# The import summary's lines for people: (role, label), in this order.
LABELS = {"headmaster": "headmasters", "beo": "BEOs", "deo": "DEOs", "state": "state team"}
PEOPLE_LABELS = tuple((role, LABELS.get(role, f"{role}s")) for role in ROLES)
# Smaller files import in a blink; a progress bar there would only be noise.
PROGRESS_ABOVE_ROWS = 1000
# Limits checked before a workbook is parsed, so a small file cannot unpack into gigabytes
# (an XLSX is a zip of XML). A state's roster, headmasters and officers of every school, is
# a few hundred thousand rows: well inside both.
MAX_ROWS = 500_000
MAX_UNPACKED_BYTES = 400 * 1024 * 1024  # the sheet XML of 500,000 full rows is about 250 MB
MAX_PACKING_RATIO = 150  # real sheets pack 5 to 20 times; a zip bomb, thousands of times


class RosterFileError(ValueError):
    """The file as a whole cannot be read: not UTF-8, not a workbook, header columns missing."""


@dataclass(frozen=True)
class RosterRow:
    """One data row as text. `number` is the row as the spreadsheet shows it (header is 1)."""

    number: int
    role: str = ""
    name: str = ""
    phone: str = ""
    language: str = ""
    school_code: str = ""
    school_name: str = ""
    district: str = ""
    block: str = ""
    cluster: str = ""
    channel: str = ""
    second_language: str = ""
    state: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class RowError:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


# Reading ---------------------------------------------------------------------------------------


def read_rows(path: str | Path) -> list[RosterRow]:
    """The file's data rows as stripped text, blank rows skipped, numbered as the sheet shows."""
    path = Path(path)
    is_workbook = path.suffix.lower() in {".xlsx", ".xlsm"}
    lines = _workbook_lines(path) if is_workbook else _csv_lines(path)
    header: dict[str, int] | None = None
    rows = []
    for number, cells in enumerate(lines, start=1):
        if number > MAX_ROWS + 1:
            raise RosterFileError(
                f"{path.name} has more than {MAX_ROWS:,} rows (row {number}); split it into "
                "several files and import them one after the other")
        if not any(cells):
            continue
        if header is None:
            header = _header(cells, path.name)
            continue
        texts = {name: cells[i] if i < len(cells) else "" for name, i in header.items()}
        rows.append(RosterRow(number, **texts))
    if header is None:
        raise RosterFileError(f"{path.name} is empty; its first row must name the columns")
    return rows


def _csv_lines(path: Path) -> Iterator[list[str]]:
    try:
        # utf-8-sig reads plain UTF-8 too; Excel's "CSV UTF-8" starts with a byte order mark.
        with path.open(encoding="utf-8-sig", newline="") as file:
            for cells in csv.reader(file):
                yield [cell.strip() for cell in cells]
    except UnicodeDecodeError as error:
        raise RosterFileError(
            f"{path.name} is not UTF-8 text; in Excel, save it as 'CSV UTF-8'"
        ) from error


def _check_packing(path: Path) -> None:
    """Refuses a workbook that would unpack into far more than a roster ever needs, by the
    sizes its zip directory declares (and that the zip reader then holds it to)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise RosterFileError(f"{path.name} could not be read as an XLSX workbook") from error
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_PACKING_RATIO * max(packed, 1024):
        raise RosterFileError(
            f"{path.name} unpacks to {unpacked / 1024 / 1024:,.0f} MB from "
            f"{path.stat().st_size / 1024:,.0f} KB, far more than a roster needs; save the "
            "sheet again from Excel, or as CSV UTF-8")


def _workbook_lines(path: Path) -> Iterator[list[str]]:
    _check_packing(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as error:
        raise RosterFileError(f"{path.name} could not be read as an XLSX workbook") from error
    try:
        sheet = workbook.worksheets[0]
        # Some tools record a wrong sheet size; forget it and read every row that is there.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(min_row=1, min_col=1, values_only=True):
            yield [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    # Excel keeps a phone number or school code typed as digits as a number: 9822012345.0
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _column_key(heading: str) -> str:
    # "School Code", "school_code" and " SCHOOL-CODE " all name the same column.
    return re.sub(r"[\s_\-]+", "", heading.lower())


_COLUMN_BY_KEY = {_column_key(name): name for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}


def _header(cells: list[str], filename: str) -> dict[str, int]:
    """Where each known column is; unknown columns (notes, extra UDISE fields) are ignored."""
    positions: dict[str, int] = {}
    for i, heading in enumerate(cells):
        name = _COLUMN_BY_KEY.get(_column_key(heading))
        if name in positions:
            raise RosterFileError(f"{filename}: the column {name} appears twice")
        if name:
            positions[name] = i
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise RosterFileError(
            f"{filename}: the first row lacks the column(s) {', '.join(missing)}; "
            f"it needs {', '.join(REQUIRED_COLUMNS)}"
        )
    return positions


# Checking --------------------------------------------------------------------------------------


def validate(
    rows: Iterable[RosterRow],
    default_region: str = "IN",
    known_school_codes: Collection[str] = frozenset(),
) -> tuple[list[RosterRow], list[RowError]]:
    """Splits rows into valid ones, with canonical values (E.164 phone, role, language,
    channel), and the reasons the others are invalid, ordered by row.

    A headmaster row may leave school_name blank only for a school in known_school_codes or
    named by another valid row.
    """
    checked: list[tuple[RosterRow, list[str]]] = []
    rows_by_phone: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        canonical, reasons = _check_row(row, default_region)
        reasons += _unstorable(row)
        checked.append((canonical, reasons))
        if canonical.phone:  # blank when the phone was not valid
            rows_by_phone[canonical.phone].append(row.number)

    # A phone twice is ambiguous (which row is the person?), so neither row is trusted.
    for row, reasons in checked:
        numbers = rows_by_phone.get(row.phone, [])
        if len(numbers) > 1:
            listed = ", ".join(str(n) for n in numbers)
            reasons.append(f"phone {row.phone} appears on rows {listed}; a person may appear once")

    named = {
        r.school_code
        for r, reasons in checked
        if r.role == "headmaster" and r.school_name and not reasons
    }
    for row, reasons in checked:
        school_is_new = row.school_code not in named and row.school_code not in known_school_codes
        if row.role == "headmaster" and not reasons and school_is_new:
            reasons.append(f"school {row.school_code} is new, so its school_name is needed")

    valid = [row for row, reasons in checked if not reasons]
    errors = [RowError(row.number, reason) for row, reasons in checked for reason in reasons]
    return valid, errors


def _unstorable(row: RosterRow) -> list[str]:
    """What the database could not hold: a NUL character, or text longer than its column
    (PostgreSQL refuses both with an error, where the row deserves a reason)."""
    from storage.models import Person, School

    limits = {"name": Person.name, "school_code": School.code, "school_name": School.name,
              "district": School.district, "block": School.block, "cluster": School.cluster,
              "state": School.state}
    reasons = [f"{name} has a NUL character" for name, value in vars(row).items()
               if isinstance(value, str) and "\x00" in value]
    reasons += [f"{name} is longer than {column.type.length} characters"
                for name, column in limits.items() if len(getattr(row, name)) > column.type.length]
    return reasons


def _check_row(row: RosterRow, region: str) -> tuple[RosterRow, list[str]]:
    """The row with canonical values (phone blank if invalid), and what is wrong with it."""
    reasons = []
    role = row.role.lower()  # "BEO", "Headmaster" as typed in a sheet
    if role not in ROLES:
        reasons.append(f"role {row.role!r} is not one of {', '.join(ROLES)}")
    if not row.name:
        reasons.append("name is blank")
    phone = _e164(row.phone, region) if row.phone else None
    if not row.phone:
        reasons.append("phone is blank")
    elif phone is None:
        reasons.append(f"phone {row.phone!r} is not a valid phone number")
    language = _language(row.language or "en")
    if language is None:
        reasons.append(f"language {row.language!r} is not a known language code (en, hi, mr...)")
    second_language = _language(row.second_language) if row.second_language else ""
    if second_language is None:
        reasons.append(f"second_language {row.second_language!r} is not a known language code")
    channel = (row.channel or "whatsapp").lower()
    if channel not in CHANNELS:
        reasons.append(f"channel {row.channel!r} is not one of {', '.join(CHANNELS)}")
    if row.timezone and not _is_timezone(row.timezone):
        reasons.append(f"timezone {row.timezone!r} is not a time zone name like Asia/Kolkata")
    if role == "headmaster" and not row.school_code:
        reasons.append("a headmaster row needs a school_code")
    if role == "beo" and not (row.district and row.block):
        reasons.append("a BEO row needs its district and block")
    if role == "deo" and not row.district:
        reasons.append("a DEO row needs its district")
    if role in ("beo", "deo") and row.school_code:
        # Most likely a headmaster typed as BEO, who would then get a whole block's digest.
        reasons.append(f"a {role.upper()} row names a district (and block), not a school_code")
    canonical = replace(
        row,
        role=role,
        phone=phone or "",
        language=language or row.language,
        second_language=second_language or row.second_language,
        channel=channel,
    )
    return canonical, reasons


def _e164(raw: str, region: str) -> str | None:
    """'98220 12345' and '+91 98220-12345' both become '+919822012345'; None if not a number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@cache
def _language(code: str) -> str | None:
    try:
        return str(Locale.parse(code.replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


@cache
def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def known_school_codes(database: Database, rows: Iterable[RosterRow]) -> set[str]:
    """The school codes that rows name without a school_name and that are already stored
    (for `validate`: such a row may leave the name out)."""
    return existing_school_codes(database, {r.school_code for r in rows
                                            if r.school_code and not r.school_name
                                            and not _unstorable(r)})


def schools_and_people(valid: Iterable[RosterRow]) -> tuple[list[RosterSchool], list[RosterPerson]]:
    """What to write: each school once (from its headmaster rows), and each person."""
    schools: dict[str, RosterSchool] = {}
    people = []
    for row in valid:
        is_headmaster = row.role == "headmaster"
        people.append(
            RosterPerson(
                phone=row.phone,
                name=row.name,
                role=row.role,
                language=row.language,
                second_language=row.second_language or None,
                school_code=row.school_code if is_headmaster else None,
                district=row.district,
                block=row.block,
                # "whatsapp-only": WhatsApp, and never the SMS fallback.
                channel="whatsapp" if row.channel == "whatsapp-only" else row.channel,
                sms_allowed=row.channel != "whatsapp-only",
            )
        )
        if is_headmaster:
            school = RosterSchool(
                code=row.school_code,
                name=row.school_name,
                district=row.district,
                block=row.block,
                cluster=row.cluster,
                state=row.state or None,
                timezone=row.timezone or None,
            )
            schools[school.code] = _fill_blanks(school, schools.get(school.code))
    return list(schools.values()), people


def _fill_blanks(school: RosterSchool, earlier: RosterSchool | None) -> RosterSchool:
    # Two headmasters of one school: the later row wins, but its blanks do not erase.
    if earlier is None:
        return school
    merged = {f.name: getattr(school, f.name) or getattr(earlier, f.name) for f in fields(school)}
    return RosterSchool(**merged)


# Command ---------------------------------------------------------------------------------------


@click.group()
def roster() -> None:
    """Schools and people."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows and list the invalid ones, instead of importing nothing.",
)
def import_roster(file: Path, skip_invalid: bool) -> None:
    """Create or update headmasters, BEOs, the state team and schools from a CSV or XLSX FILE.

    Columns: role, name, phone, language, school_code, school_name, district, block, cluster,
    and optionally channel, second_language, state, timezone. People are matched by phone and
    schools by code, so importing again updates them in place.
    """
    from bot.cli import database as current_database  # bot.cli imports this module
    from bot.cli import settings

    config = settings()
    region = config.default_region
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise click.ClickException(f"KADAM_DEFAULT_REGION {region!r} is not a region code")
    try:
        rows = read_rows(file)
    except RosterFileError as error:
        raise click.ClickException(str(error)) from error

    quiet = len(rows) <= PROGRESS_ABOVE_ROWS
    database = current_database(config)
    try:
        known_codes = known_school_codes(database, rows)
        checking = tqdm(rows, desc="checking", unit="row", disable=quiet, file=sys.stderr)
        valid, errors = validate(checking, region, known_codes)
        for problem in errors:
            click.echo(str(problem), err=True)
        invalid_rows = len({problem.row for problem in errors})
        if errors and not skip_invalid:
            raise click.ClickException(
                f"nothing imported: {invalid_rows} row(s) have errors. Fix them, or run again "
                "with --skip-invalid to import the other rows."
            )
        schools, people = schools_and_people(valid)
        total = len(schools) + len(people)
        with tqdm(total=total, desc="writing", unit="row", disable=quiet, file=sys.stderr) as bar:
            counts = upsert(database, schools, people, on_progress=bar.update)
    finally:
        database.dispose()

    click.echo(f"imported {file.name}")
    click.echo(f"  schools: {counts.schools_created} created, {counts.schools_updated} updated")
    for role, label in PEOPLE_LABELS:
        created, updated = counts.people_created[role], counts.people_updated[role]
        click.echo(f"  {label}: {created} created, {updated} updated")
    click.echo(f"  rows skipped: {invalid_rows}")
