"""The `kadam` command line: what the state team and the operator run.

Each group lives beside the code it drives; this module only gathers them.
"""

from __future__ import annotations

import logging

import click

from bot.config import Settings
from bot.logs import mask_phone_numbers
from storage.db import Database, normalise_url


def settings() -> Settings:
    """The settings from the environment, or the command stops saying which one is bad."""
    try:
        return Settings.from_env()
    except ValueError as error:
        raise click.ClickException(str(error)) from error


def database(config: Settings | None = None) -> Database:
    """DATABASE_URL, with its schema current. The embedded SQLite file is brought up to date
    on first use (a fresh install needs no extra step); a PostgreSQL database is the
    operator's to migrate (`kadam db upgrade`, the Procfile's release), so we say so."""
    from sqlalchemy.exc import OperationalError

    from storage.migrate import is_current, upgrade

    url = (config or settings()).database_url
    try:
        current = is_current(url)
    except OperationalError as error:
        raise click.ClickException(f"cannot open the database (DATABASE_URL): {error.orig}") \
            from error
    if not current:
        if not normalise_url(url).startswith("sqlite"):
            raise click.ClickException(
                "the database's schema is not up to date: run `kadam db upgrade` first")
        upgrade(url)
    return Database(url)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """Kadam: micro-improvement projects for headmasters over WhatsApp and SMS."""
    mask_phone_numbers()
    try:
        level = Settings.from_env().log_level
    except ValueError:
        # The command says which setting is bad when it reads them; `kadam doctor` names
        # every one, and must run however bad they are.
        level = "INFO"
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to DATABASE_URL."""
    from storage.migrate import upgrade

    upgrade(settings().database_url)
    click.echo("database is up to date")


def _register() -> None:
    from bot.cli.broadcasts import broadcast, celebrate
    from bot.cli.campaigns import campaign
    from bot.cli.demo import demo
    from bot.cli.doctor import doctor
    from bot.cli.exports import export
    from bot.cli.i18n_check import i18n
    from bot.cli.people import person
    from bot.cli.phrases import phrases_group
    from bot.cli.templates import template
    from bot.cli.users import user
    from bot.clock.clock import clock_command, tick_command
    from bot.sheets.roster import roster
    from bot.worker.command import worker

    for command in (roster, template, campaign, broadcast, celebrate, export, worker, tick_command,
                    clock_command, i18n, demo, user, phrases_group, doctor):
        main.add_command(command)
    main.add_command(person)


_register()
