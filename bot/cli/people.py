"""`kadam person erase PHONE`: a data principal's request to erase their personal data."""

from __future__ import annotations

import datetime as dt

import click
import phonenumbers

from bot.config import Settings
from storage.erasure import ERASED_NAME, Footprint, erase, footprint
from storage.media_store import MediaStore
from storage.retention import remove_files


@click.group()
def person() -> None:
    """People in the roster, and numbers that wrote to Kadam."""


def _number(raw: str, region: str) -> str:
    """The number as Kadam stores it (E.164), read the way the roster reads numbers."""
    raw = raw.strip().removeprefix("whatsapp:")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise click.BadParameter(f"{raw!r} is not a phone number") from error
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _describe(found: Footprint) -> list[str]:
    who = (f"{found.name}, {found.role}" + (f" of {found.school}" if found.school else "")
           if found.person_id is not None else "not in the roster")
    return [
        f"{found.phone}: {who}",
        f"  messages from them: {found.messages_in}",
        f"  messages to them: {found.messages_out}",
        f"  others' messages naming them or about their tasks: {found.mentions}",
        f"  photos and other files: {found.evidence}",
        f"  remarks and notes on their tasks: {found.remarks}",
        f"  stories of change: {found.stories}",
        f"  replies kept to teach Kadam: {found.replies}",
    ]


@person.command("erase")
@click.argument("phone")
@click.option("--yes", "confirmed", is_flag=True, help="Erase without asking (for scripts).")
def person_erase(phone: str, confirmed: bool) -> None:
    """Erase a person's name, number, messages and files everywhere, exports included.

    Counts stay: their projects, tasks, statuses and delivery figures remain, under the name
    "erased". Their files are deleted from MEDIA_DIR. Remove them from the roster file as
    well, or the next import adds them again."""
    from bot.cli import database

    settings = Settings.from_env()
    number = _number(phone, settings.default_region)
    db = database(settings)
    try:
        with db.sessions() as session:
            found = footprint(session, number)
        if found.is_empty:
            raise click.ClickException(f"Kadam keeps nothing about {number}")
        for line in _describe(found):
            click.echo(line)
        if not confirmed and not click.confirm(
                f"Erase all of this? Counts stay; the name becomes {ERASED_NAME!r}.",
                default=False):
            click.echo("nothing erased")
            raise SystemExit(1)
        with db.transaction() as session:
            erase(session, number, dt.datetime.now(dt.UTC))
        files = remove_files(db, MediaStore(settings.media_dir))
    finally:
        db.dispose()
    click.echo(f"erased {number}" + (f" (its rows now read {ERASED_NAME!r}, {found.placeholder})"
                                     if found.person_id is not None else "") + ":")
    for line in _describe(found)[1:]:
        click.echo(line)
    click.echo(f"  files deleted from {settings.media_dir}: {files}"
               + (" (the others are still evidence of another task)"
                  if files < found.evidence else ""))
    click.echo("Twilio keeps its own log of these messages and media: delete them there too "
               "(Console > Monitor > Logs, or the Messages API).")
