"""`kadam template validate|load` (being written)."""

import click


@click.group()
def template() -> None:
    """Project templates."""
