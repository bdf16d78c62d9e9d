"""`kadam worker`: the command that runs bot.worker.loop.Worker."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click

from bot.config import Settings
from bot.language import templates_map
from bot.worker.loop import Worker
from storage.db import Database

log = logging.getLogger("bot.worker.loop")


@click.command()
@click.option("--once", is_flag=True, help="Send what is due, fetch pending media, and exit.")
def worker(once: bool) -> None:
    """Send the outbox and fetch media (MESSAGES_PER_SECOND, WORKER_THREADS)."""
    settings = Settings.from_env()
    refusal = settings.missing_secret_key()
    if refusal:
        raise click.ClickException(refusal)
    database = Database(settings.database_url)
    try:
        runner = Worker(database, settings)
    except templates_map.TemplateMapError as exc:
        database.dispose()
        raise click.ClickException(str(exc)) from exc
    if once:
        with runner:
            click.echo(str(runner.run_once()))
        database.dispose()
        return

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the batch in hand", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.run_forever()
    database.dispose()
