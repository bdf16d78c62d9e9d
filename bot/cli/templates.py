"""`kadam template validate|load`: check project template files and store them as versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from storage import templates

FILES = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def template() -> None:
    """Project templates."""


@template.command("validate")
@click.argument("files", nargs=-1, required=True, type=FILES)
def validate_command(files: tuple[Path, ...]) -> None:
    """Check template FILES against the schema; exit 1 if any has an error."""
    checked = [_check(path) for path in files]
    if not all(document is not None for document in checked):
        sys.exit(1)


@template.command("load")
@click.argument("files", nargs=-1, required=True, type=FILES)
def load_command(files: tuple[Path, ...]) -> None:
    """Validate template FILES, then store each one that changed as its next version.

    All files are stored in one transaction: if any is invalid, nothing is stored.
    """
    checked = [(path, _check(path, quiet=True)) for path in files]
    documents = [(path, document) for path, document in checked if document is not None]
    if len(documents) < len(files) or _same_slug_twice(documents):
        click.echo("nothing loaded", err=True)
        sys.exit(1)

    from bot.cli import database  # here, not at the top: bot.cli imports this module

    store = database()
    try:
        with store.transaction() as session:
            outcomes = []
            for path, document in documents:
                row, created = templates.store(session, document)
                outcomes.append((path, row.slug, row.version, len(document["tasks"]), created))
    finally:
        store.dispose()
    # Reported only after the commit, so "loaded" is never printed for a rolled-back load.
    for path, slug, version, task_count, created in outcomes:
        if created:
            click.echo(f"{path}: loaded {slug} version {version} ({task_count} tasks)")
        else:
            click.echo(f"{path}: {slug} unchanged, version {version}")


def _check(path: Path, quiet: bool = False) -> dict[str, Any] | None:
    """Reads and validates one file, printing its problems; returns the document if valid."""
    try:
        document = templates.parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        click.echo(f"{path}: not UTF-8 text", err=True)
        return None
    except templates.TemplateSyntaxError as exc:
        click.echo(f"{path}: {exc}", err=True)
        return None
    problems = templates.validate(document)
    errors = [problem for problem in problems if problem.is_error]
    notes = [problem for problem in problems if not problem.is_error]
    if errors:
        click.echo(f"{path}: {len(errors)} error{'s' if len(errors) > 1 else ''}", err=True)
        for problem in errors:
            click.echo(f"  {problem}", err=True)
    elif not quiet:
        languages = ", ".join(templates.languages(document))
        click.echo(f"{path}: ok ({len(document['tasks'])} tasks, languages: {languages})")
    # Under a header the notes are indented; `load` prints no header, so they name the file.
    prefix = f"{path}: " if quiet and not errors else "  "
    for problem in notes:
        click.echo(f"{prefix}note: {problem}", err=bool(errors))
    return None if errors else document


def _same_slug_twice(documents: list[tuple[Path, dict[str, Any]]]) -> bool:
    """Two files with one slug in a single load would silently make each other's versions."""
    first: dict[str, Path] = {}
    for path, document in documents:
        slug = document["slug"]
        if slug in first:
            click.echo(f"{path}: slug {slug!r} is also in {first[slug]}", err=True)
            return True
        first[slug] = path
    return False
