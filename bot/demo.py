"""`kadam demo` (being written)."""

import click


@click.command()
def demo() -> None:
    """Start Kadam with demo data."""
