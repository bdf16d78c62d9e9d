"""`kadam export projects|messages`: progress, or every outbound message, as CSV (stdout or a
file) or Excel.

Rows stream from storage.exports straight into the writer, so memory stays flat however many
projects a state runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from storage.exports import MESSAGE_COLUMNS, PROJECT_COLUMNS, message_rows, project_rows
from storage.models import OUTBOX_RANK, Campaign

FLUSH_EVERY = 1000  # CSV rows buffered before writing to stdout


@click.group()
def export() -> None:
    """Exports for the state team."""


@export.command("projects")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign's projects.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.xlsx; CSV on stdout when left out.",
)
def export_projects(campaign_id: int | None, out: Path | None) -> None:
    """One row per project: school, headmaster, status, tasks done, evidence, key dates."""
    from bot.cli import database

    _check_out(out)
    db = database()
    try:
        with db.sessions() as session:
            if campaign_id is not None and session.get(Campaign, campaign_id) is None:
                known = session.scalars(select(Campaign.id).order_by(Campaign.id)).all()
                raise click.ClickException(
                    f"no campaign with id {campaign_id} (campaigns: "
                    f"{', '.join(map(str, known)) or 'none yet'})"
                )
            count = _write(project_rows(session, campaign_id), PROJECT_COLUMNS, out, "projects")
    finally:
        db.dispose()
    if out is not None:
        click.echo(f"{count} projects written to {out}", err=True)


@export.command("messages")
@click.option("--status", type=click.Choice(sorted(OUTBOX_RANK)),
              help="Only messages in this status (not_sent: those that could not go, and why).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.xlsx; CSV on stdout when left out.",
)
def export_messages(status: str | None, out: Path | None) -> None:
    """One row per outbound message: recipient, key, channel, form, status and any error."""
    from bot.cli import database

    _check_out(out)
    db = database()
    try:
        with db.sessions() as session:
            count = _write(message_rows(session, status), MESSAGE_COLUMNS, out, "messages")
    finally:
        db.dispose()
    if out is not None:
        click.echo(f"{count} messages written to {out}", err=True)


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="--out")


def _write(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], out: Path | None,
           sheet: str) -> int:
    if out is None:
        return _csv_to_stdout(rows, columns)
    if out.suffix.lower() == ".csv":
        return _csv_to_file(rows, columns, out)
    return _xlsx_to_file(rows, columns, out, sheet)


def _csv_to_stdout(rows: Iterable[tuple[Any, ...]], columns: Sequence[str]) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count % FLUSH_EVERY == 0:
            click.echo(buffer.getvalue(), nl=False)
            buffer.seek(0)
            buffer.truncate()
    click.echo(buffer.getvalue(), nl=False)
    return count


def _csv_to_file(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], path: Path) -> int:
    # utf-8-sig: the byte-order mark is what makes Excel read Devanagari names correctly.
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _xlsx_to_file(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], path: Path,
                  title: str) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)  # rows go to disk as they come, not held in memory
    sheet = workbook.create_sheet(title)
    sheet.append(list(columns))
    count = 0
    for row in rows:
        count += 1
        sheet.append([_as_text(sheet, v) if _looks_like_formula(v) else v for v in row])
    workbook.save(path)
    return count


def _looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def _as_text(sheet: Any, value: str) -> Any:
    """A school or person named "=..." is text from the roster, never a formula to run."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
