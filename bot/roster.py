"""`kadam roster import`: schools and people from CSV or XLSX (being written)."""

import click


@click.group()
def roster() -> None:
    """Schools and people."""
