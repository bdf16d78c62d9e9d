"""Dashboard users and their sign-ins.

Passwords are hashed with werkzeug (scrypt). Failed sign-ins are rows, not process memory, so
the limits hold across every gunicorn worker. They slow a guesser without locking the account's
owner out:

- for one account from one network address, the first FREE_TRIES failures cost nothing; after
  that each try waits twice as long as the one before (5 s, 10 s, 20 s, ... at most
  LONGEST_WAIT), counted from the last failure;
- one network address that fails FAILURES_PER_ADDRESS times within WINDOW (many accounts
  tried) waits until the window has passed;
- one account that fails FAILURES_PER_ACCOUNT times within WINDOW from anywhere (a guesser on
  many addresses) waits the same way, for everyone: a limit high enough that only an attack
  reaches it.

Someone who mistypes their password from their own computer is never held up by a stranger
guessing at their address from elsewhere.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from storage.learning import TaughtPhrase
from storage.models import AdminUser, LoginAttempt
from storage.scope import Scope, ScopeError, block_districts

WINDOW = dt.timedelta(minutes=15)
FREE_TRIES = 3  # failures for one account from one address before waits begin
FIRST_WAIT = dt.timedelta(seconds=5)
LONGEST_WAIT = dt.timedelta(minutes=15)
FAILURES_PER_ADDRESS = 20
FAILURES_PER_ACCOUNT = 100
MIN_PASSWORD = 8  # NIST SP 800-63B's floor; length beats rules
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked against when the address is unknown, so a wrong address costs as long as a wrong
# password and timing does not tell which addresses have accounts.
_DUMMY_HASH = generate_password_hash("kadam-no-such-user")


class UserError(ValueError):
    pass


class TooManyAttempts(Exception):
    """Sign-in refused without checking the password: too many recent failures. `wait`: how
    long until the next try is heard."""

    def __init__(self, wait: dt.timedelta):
        super().__init__(f"wait {wait}")
        self.wait = wait


class AccountDisabled(Exception):
    """The password was right, but the account is disabled (`kadam user disable`)."""

# Who taught a phrase, once the user who did is removed: their address goes with them.
REMOVED_USER = "a removed user"


def normal_email(email: str) -> str:
    return email.strip().lower()


def add_user(session: Session, email: str, password: str, role: str,
             scope: str | None) -> tuple[AdminUser, bool]:
    """Creates the user, or updates role, scope and password of an existing one.

    Returns the user and whether it was created."""
    email = normal_email(email)
    if not EMAIL.match(email):
        raise UserError(f"{email!r} is not an e-mail address")
    try:
        wanted = Scope.of(role, scope)
    except ScopeError as error:
        raise UserError(str(error)) from error
    if wanted.block is not None and wanted.district is None:
        # The dashboard would show such a user nothing (storage/scope.py, Scope.pinned).
        districts = block_districts(session, wanted.block)
        if len(districts) > 1:
            raise UserError(f"block {(scope or '').strip()!r} is in more than one district "
                            f"({', '.join(districts)}); name one, as in "
                            f"--scope '{districts[0]}/{(scope or '').strip()}'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    user = session.scalars(select(AdminUser).where(AdminUser.email == email)).one_or_none()
    created = user is None
    if user is None:
        user = AdminUser(email=email)
        session.add(user)
    user.role = role
    user.scope = (scope or "").strip() or None
    user.password_hash = generate_password_hash(password)
    session.flush()
    return user, created


def authenticate(session: Session, email: str, password: str, remote_addr: str,
                 now: dt.datetime) -> AdminUser | None:
    """The user these credentials belong to, or None; raises TooManyAttempts when locked."""
    email = normal_email(email)
    # Failures are counted under the address as it fits the column (PostgreSQL refuses a
    # longer one, a 500); no account has a longer address, so none is mistaken for another.
    counted, address = email[:255], remote_addr[:64]
    wait = _wait(session, counted, address, now)
    if wait > dt.timedelta(0):
        raise TooManyAttempts(wait)
    user = session.scalars(select(AdminUser).where(AdminUser.email == email)).one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
    elif check_password_hash(user.password_hash, password):
        if user.disabled_at is not None:
            # Said only to someone who knows the password: a guesser learns nothing new.
            raise AccountDisabled()
        user.last_login_at = now
        session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
        return user
    session.add(LoginAttempt(email=counted, remote_addr=address, at=now))
    # Old failures only slow the count down; drop them as we go.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 4 * WINDOW))
    return None


def _wait(session: Session, email: str, address: str, now: dt.datetime) -> dt.timedelta:
    """How long this account, from this address, must still wait before a try is heard."""
    since = now - WINDOW

    def failures(*where: Any) -> tuple[int, dt.datetime | None, dt.datetime | None]:
        count, first, last = session.execute(
            select(func.count(), func.min(LoginAttempt.at), func.max(LoginAttempt.at))
            .where(LoginAttempt.at >= since, *where)).one()
        return int(count or 0), first, last

    waits = [dt.timedelta(0)]
    pair, _first, last = failures(LoginAttempt.email == email,
                                  LoginAttempt.remote_addr == address)
    if pair >= FREE_TRIES and last is not None:
        step = min(FIRST_WAIT * 2 ** (pair - FREE_TRIES), LONGEST_WAIT)
        waits.append(last + step - now)
    for where, most in (((LoginAttempt.remote_addr == address,), FAILURES_PER_ADDRESS),
                        ((LoginAttempt.email == email,), FAILURES_PER_ACCOUNT)):
        count, first, _last = failures(*where)
        if count >= most and first is not None:
            waits.append(first + WINDOW - now)
    return max(waits)


def user_by_id(session: Session, user_id: int) -> AdminUser | None:
    return session.get(AdminUser, user_id)


def sign_out_everywhere(session: Session, user_id: int, now: dt.datetime) -> None:
    """Ends every session of the user begun before `now` (a cookie copied elsewhere too)."""
    user = session.get(AdminUser, user_id)
    if user is not None:
        user.signed_out_at = now


def users(session: Session) -> list[AdminUser]:
    return list(session.scalars(select(AdminUser).order_by(AdminUser.email)))


def _user(session: Session, email: str) -> AdminUser | None:
    return session.scalars(select(AdminUser).where(AdminUser.email == normal_email(email))
                           ).one_or_none()


def disable_user(session: Session, email: str, now: dt.datetime) -> AdminUser | None:
    """Stops the user signing in and ends their sessions (storage is read on every request);
    None when there is no such user. Disabling twice keeps the first date."""
    user = _user(session, email)
    if user is not None and user.disabled_at is None:
        user.disabled_at = now
    return user


def enable_user(session: Session, email: str) -> AdminUser | None:
    user = _user(session, email)
    if user is not None:
        user.disabled_at = None
    return user


def remove_user(session: Session, email: str) -> bool:
    """Deletes the user, their failed sign-ins, and their address from the phrases they
    taught; False when there is no such user."""
    user = _user(session, email)
    if user is None:
        return False
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
    session.execute(update(TaughtPhrase).where(TaughtPhrase.taught_by == user.email)
                    .values(taught_by=REMOVED_USER))
    session.delete(user)
    session.flush()
    return True
