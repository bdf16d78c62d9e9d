"""`kadam phrases export|list`: the phrases the state team taught on the dashboard
("Replies not understood"), as a phrase file to merge into flows/phrases/, or as a list."""

from __future__ import annotations

import click

from storage import phrases


@click.group("phrases")
def phrases_group() -> None:
    """Phrases taught on the dashboard."""


@phrases_group.command("export")
@click.option("--out", required=True, metavar="FILE",
              help="Where to write the YAML; - for standard output.")
@click.option("--language", "languages", multiple=True, metavar="CODE",
              help="Only this language (repeat for more); every language when left out.")
def phrases_export(out: str, languages: tuple[str, ...]) -> None:
    """Write the taught phrases in the format of flows/phrases/<language>.yaml (language,
    intents, intent, phrases), every language in one file, sorted, ready to merge."""
    from bot.cli import database

    unknown = [code for code in languages if code not in phrases.LANGUAGE_CODES]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: not a language Kadam speaks "
                                 f"({', '.join(phrases.LANGUAGE_CODES)})",
                                 param_hint="--language")
    db = database()
    try:
        with db.sessions() as session:
            rows = [row for row in phrases.listed(session)
                    if not languages or row.language in languages]
    finally:
        db.dispose()
    text = phrases.phrase_file(rows)
    if out == "-":
        click.echo(text, nl=False)
        return
    with open(out, "w", encoding="utf-8") as file:
        file.write(text)
    click.echo(f"{len(rows)} taught phrase{'s' if len(rows) != 1 else ''} written to {out}",
               err=True)


@phrases_group.command("list")
def phrases_list() -> None:
    """Every taught phrase: language, phrase, intent, who taught it and when (UTC)."""
    from bot.cli import database

    db = database()
    try:
        with db.sessions() as session:
            rows = phrases.listed(session)
    finally:
        db.dispose()
    for row in rows:
        click.echo(f"{row.language}\t{row.phrase}\t{row.intent}\t{row.taught_by}\t"
                   f"{row.created_at.isoformat(timespec='minutes')}")
    if not rows:
        click.echo("no phrase has been taught yet", err=True)
