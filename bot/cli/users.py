"""`kadam user add|list|disable|enable|remove`: who may sign in to the dashboard at /admin, and
what they see."""

from __future__ import annotations

import click

from storage.admin_users import (
    MIN_PASSWORD,
    UserError,
    add_user,
    disable_user,
    enable_user,
    remove_user,
    users,
)
from storage.scope import ROLES, Scope, schools_in


@click.group()
def user() -> None:
    """Dashboard users."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="state: everything; district: one district; block: one block.")
@click.option("--scope", metavar="NAME",
              help="The district (role district) or block (role block; DISTRICT/BLOCK when the "
                   "block's name repeats across districts).")
@click.option("--password", metavar="TEXT",
              help=f"At least {MIN_PASSWORD} characters. Left out: KADAM_USER_PASSWORD, else "
                   "asked for (twice) at a terminal, or read from the first line of standard "
                   "input in a script.")
def user_add(email: str, role: str, scope: str | None, password: str | None) -> None:
    """Create a dashboard user, or change an existing user's role, scope and password."""
    from bot.cli import database, settings

    config = settings()
    if password is None:
        password = config.user_password or _ask_password()

    db = database(config)
    try:
        with db.transaction() as session:
            try:
                account, created = add_user(session, email, password, role, scope)
            except UserError as error:
                raise click.ClickException(str(error)) from error
            schools = schools_in(session, Scope.of(role, scope))
            email = account.email
    finally:
        db.dispose()
    click.echo(f"{'created' if created else 'updated'} {email} ({role}"
               f"{': ' + scope.strip() if scope else ''})")
    if role != "state" and not schools:
        click.echo(f"note: no school in the roster is in {role} {scope!r} yet; check the "
                   "spelling against the roster's district and block columns", err=True)


def _ask_password() -> str:
    import sys

    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()  # a script: `echo "$PASSWORD" | kadam user add ...`
    if not line.strip():
        raise click.ClickException("no password given: use --password, or pipe it in")
    return line.rstrip("\r\n")


@user.command("list")
def user_list() -> None:
    """Everyone who may sign in, with their role and scope."""
    from bot.cli import database

    db = database()
    try:
        with db.sessions() as session:
            for account in users(session):
                last = account.last_login_at.isoformat(timespec="minutes") \
                    if account.last_login_at else "never"
                disabled = (f"\tdisabled {account.disabled_at.isoformat(timespec='minutes')}"
                            if account.disabled_at else "")
                click.echo(f"{account.email}\t{account.role}\t{account.scope or '-'}\t"
                           f"last sign-in {last}{disabled}")
    finally:
        db.dispose()


@user.command("disable")
@click.argument("email")
def user_disable(email: str) -> None:
    """Stop a dashboard user signing in; their open sessions end at their next click."""
    import datetime as dt

    from bot.cli import database

    db = database()
    try:
        with db.transaction() as session:
            account = disable_user(session, email, dt.datetime.now(dt.UTC))
            found = account.email if account else None
    finally:
        db.dispose()
    if found is None:
        raise click.ClickException(f"no dashboard user {email.strip()!r}")
    click.echo(f"disabled {found}: they cannot sign in, and their sessions have ended "
               f"(`kadam user enable {found}` lets them back)")


@user.command("enable")
@click.argument("email")
def user_enable(email: str) -> None:
    """Let a disabled dashboard user sign in again."""
    from bot.cli import database

    db = database()
    try:
        with db.transaction() as session:
            account = enable_user(session, email)
            found = account.email if account else None
    finally:
        db.dispose()
    if found is None:
        raise click.ClickException(f"no dashboard user {email.strip()!r}")
    click.echo(f"enabled {found}")


@user.command("remove")
@click.argument("email")
def user_remove(email: str) -> None:
    """Delete a dashboard user: they cannot sign in, their sessions end, and their address goes
    (from failed sign-ins and from the phrases they taught too)."""
    from bot.cli import database

    db = database()
    try:
        with db.transaction() as session:
            removed = remove_user(session, email)
    finally:
        db.dispose()
    if not removed:
        raise click.ClickException(f"no dashboard user {email.strip()!r}")
    click.echo(f"removed {email.strip().lower()}")
