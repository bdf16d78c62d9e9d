"""`kadam export projects|tasks|messages`: progress by project or by task, or every outbound
message, as CSV (stdout or a file) or Excel.

Rows stream from storage.exports straight into the writer (bot/sheets/spreadsheets.py, shared with
the dashboard's downloads), so memory stays flat however many projects a state runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from bot.sheets.spreadsheets import Counter, csv_chunks, write_csv, write_xlsx
from storage.exports import (
    MESSAGE_COLUMNS,
    PROJECT_COLUMNS,
    TASK_COLUMNS,
    campaign_exists,
    campaign_ids,
    message_rows,
    project_rows,
    task_rows,
)
from storage.models import OUTBOX_RANK


@click.group()
def export() -> None:
    """Exports for the state team."""


# A cell a headmaster typed ("=HYPERLINK(...)", "+91...", "@...") would run as a formula in the
# spreadsheet the export is opened in; by default such cells get a leading quote, on standard
# output too (it is most often redirected to a .csv). --raw is for scripts.
raw_option = click.option(
    "--raw", is_flag=True,
    help="CSV values exactly as stored, without the formula guard: for scripts, never for a "
         "spreadsheet.")


@export.command("projects")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign's projects.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.xlsx; CSV on stdout when left out.",
)
@raw_option
def export_projects(campaign_id: int | None, out: Path | None, raw: bool) -> None:
    """One row per project: school, headmaster, status, tasks done, evidence, key dates."""
    from bot.cli import database

    _check_out(out)
    db = database()
    try:
        with db.sessions() as session:
            _check_campaign(session, campaign_id)
            count = _write(project_rows(session, campaign_id), PROJECT_COLUMNS, out, "projects",
                           raw)
    finally:
        db.dispose()
    if out is not None:
        click.echo(f"{count} projects written to {out}", err=True)


@export.command("tasks")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign's tasks.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.xlsx; CSV on stdout when left out.",
)
@raw_option
def export_tasks(campaign_id: int | None, out: Path | None, raw: bool) -> None:
    """One row per task: school, title, status, due and done dates, photos and remarks.

    Photo links point at the dashboard (PUBLIC_URL/admin/evidence/ID/photo), where a signed-in
    user of the school's area sees the photo.
    """
    from bot.cli import database
    from bot.config import Settings

    _check_out(out)
    base = f"{Settings.from_env().public_url}/admin/evidence/"
    db = database()
    try:
        with db.sessions() as session:
            _check_campaign(session, campaign_id)
            rows = task_rows(session, campaign_id,
                             photo_link=lambda evidence_id: f"{base}{evidence_id}/photo")
            count = _write(rows, TASK_COLUMNS, out, "tasks", raw)
    finally:
        db.dispose()
    if out is not None:
        click.echo(f"{count} tasks written to {out}", err=True)


@export.command("messages")
@click.option("--status", type=click.Choice(sorted(OUTBOX_RANK)),
              help="Only messages in this status (not_sent: those that could not go, and why).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.xlsx; CSV on stdout when left out.",
)
@raw_option
def export_messages(status: str | None, out: Path | None, raw: bool) -> None:
    """One row per outbound message: recipient, key, channel, form, status and any error."""
    from bot.cli import database

    _check_out(out)
    db = database()
    try:
        with db.sessions() as session:
            count = _write(message_rows(session, status), MESSAGE_COLUMNS, out, "messages", raw)
    finally:
        db.dispose()
    if out is not None:
        click.echo(f"{count} messages written to {out}", err=True)


def _check_campaign(session: Session, campaign_id: int | None) -> None:
    if campaign_id is not None and not campaign_exists(session, campaign_id):
        known = campaign_ids(session)
        raise click.ClickException(
            f"no campaign with id {campaign_id} (campaigns: "
            f"{', '.join(map(str, known)) or 'none yet'})"
        )


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter("the file must end in .csv or .xlsx", param_hint="--out")


def _write(rows: Iterable[tuple[Any, ...]], columns: Sequence[str], out: Path | None,
           sheet: str, raw: bool) -> int:
    if out is None:
        # Standard output: no byte-order mark, Unix line ends; the formula guard unless --raw.
        counted = Counter(rows)
        for chunk in csv_chunks(counted, columns, guard=not raw, lineterminator="\n"):
            click.echo(chunk, nl=False)
        return counted.count
    if out.suffix.lower() == ".csv":
        return write_csv(rows, columns, out, guard=not raw)
    return write_xlsx(rows, columns, out, sheet)
