"""`kadam campaign launch` (being written)."""

import click


@click.group()
def campaign() -> None:
    """Campaigns."""
