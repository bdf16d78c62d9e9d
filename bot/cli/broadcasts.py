"""`kadam broadcast`: a circular to an audience, in each person's language; and its report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
import yaml

from storage.broadcasts import BroadcastError, BroadcastReport, create, report
from storage.campaigns import CampaignError

MESSAGE_HELP = ("A YAML or JSON file with the text per language ({en: ..., hi: ...}); a plain "
                "text file is taken as English.")


def read_message(path: Path) -> dict[str, str]:
    raw = path.read_text(encoding="utf-8")
    try:
        loaded: Any = json.loads(raw) if path.suffix == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise click.BadParameter(f"{path}: {error}") from error
    if isinstance(loaded, str) or loaded is None:
        loaded = {"en": raw.strip()}
    if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in loaded.items()):
        raise click.BadParameter(f"{path}: expected text per language, like 'en: ...'")
    return {k: v.strip() for k, v in loaded.items()}


def instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def echo_report(result: BroadcastReport) -> None:
    click.echo(f"broadcast {result.broadcast_id}: audience {result.audience}")
    for status in ("queued", "retrying", "sent", "delivered", "read", "failed", "undelivered",
                   "not_sent", "opted_out"):
        click.echo(f"  {status}: {result.by_status.get(status, 0)}")
        if status == "retrying":
            for reason, count in result.retrying_by_reason.most_common():
                click.echo(f"    {reason}: {count}")
    for code, count in sorted(result.failed_by_code.items()):
        click.echo(f"    error {code}: {count}")


@click.group(invoke_without_command=True)
@click.option("--audience", "audience", multiple=True, metavar="SPEC",
              help="all, district:NAME, block:NAME or school:CODE (repeatable).")
@click.option("--role", type=click.Choice(["headmaster", "beo", "all"]), default="headmaster",
              show_default=True)
@click.option("--message", "message_file", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path), help=MESSAGE_HELP)
@click.option("--media", "media_url", help="A public URL of an image or PDF to attach.")
@click.option("--at", "at", metavar="ISO-8601", help="Send from this time (default: now).")
@click.pass_context
def broadcast(ctx: click.Context, audience: tuple[str, ...], role: str,
              message_file: Path | None, media_url: str | None, at: str | None) -> None:
    """Send a circular to everyone in the audience, in their language."""
    if ctx.invoked_subcommand is not None:
        return
    if not audience or message_file is None:
        raise click.UsageError("give --audience SPEC (one or more) and --message FILE")
    from bot.cli import database

    db = database()
    try:
        result = create(db, read_message(message_file), audience, role, media_url, instant(at))
    except (BroadcastError, CampaignError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        db.dispose()
    echo_report(result)


@broadcast.command("report")
@click.argument("broadcast_id", type=int)
def report_command(broadcast_id: int) -> None:
    """Queued, sent, delivered, read, failed (by error code) and opted out."""
    from bot.cli import database

    db = database()
    try:
        with db.sessions() as session:
            echo_report(report(session, broadcast_id))
    except BroadcastError as error:
        raise click.ClickException(str(error)) from error
    finally:
        db.dispose()


@click.command("celebrate")
@click.option("--project", "projects", type=int, multiple=True,
              help="A project whose story to celebrate (repeatable). Without it: the stories "
                   "picked on the dashboard.")
@click.option("--audience", "audience", multiple=True, required=True, metavar="SPEC",
              help="all, district:NAME, block:NAME or school:CODE (repeatable).")
@click.option("--role", type=click.Choice(["headmaster", "beo", "all"]), default="all",
              show_default=True)
@click.option("--at", "at", metavar="ISO-8601", help="Send from this time (default: now).")
@click.option("--keep-picks", is_flag=True,
              help="Leave the dashboard's picks as they are after sending (by default the "
                   "celebrated stories are unpicked, so next week's starts afresh).")
def celebrate(projects: tuple[int, ...], audience: tuple[str, ...], role: str,
              at: str | None, keep_picks: bool) -> None:
    """Broadcast stories of change, only those their headmasters agreed to share.

    Which stories: the ones the state team picked on the dashboard (Evidence page, "Pick to
    celebrate"), in the order they were picked; or, with --project, exactly those projects'
    stories, picked or not. Stories picked on the dashboard are unpicked once queued, unless
    --keep-picks.
    """
    from bot.cli import database
    from storage.celebrations import (
        clear_story_picks,
        picked_story_projects,
        shareable_stories,
    )

    db = database()
    try:
        with db.sessions() as session:
            chosen = list(projects) or picked_story_projects(session)
            if not chosen:
                raise click.ClickException(
                    "no story is picked: pick stories on the dashboard's Evidence page, or "
                    "name them with --project")
            stories, left_out = shareable_stories(session, chosen)
        if not projects:
            click.echo(f"celebrating the {len(stories)} stories picked on the dashboard")
        for project_id in left_out:
            click.echo(f"project {project_id}: no story its headmaster agreed to share; left out",
                       err=True)
        if not stories:
            raise click.ClickException("none of these projects has a story to share")
        result = create(db, {"stories": stories}, audience, role, send_at=instant(at),
                        kind="celebration", key="celebration.stories")
        if not projects and not keep_picks:
            with db.transaction() as session:
                clear_story_picks(session, chosen)
    except (BroadcastError, CampaignError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        db.dispose()
    echo_report(result)
