"""`kadam export projects` (being written)."""

import click


@click.group()
def export() -> None:
    """Exports for the state team."""
