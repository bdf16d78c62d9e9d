"""`kadam worker` (being written)."""

import click


@click.command()
@click.option("--once", is_flag=True)
def worker(once: bool) -> None:
    """Send the outbox and fetch media."""
