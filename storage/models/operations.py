"""What the running system keeps for itself and its operators: dashboard users and failed
sign-ins, the clock's lease, and the log of the daily purge."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigID, utcnow


class ClockLease(Base):
    """Which clock process is active, for SQLite (PostgreSQL uses an advisory lock)."""

    __tablename__ = "clock_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]


class AdminUser(Base):
    """Someone who signs in to the dashboard: the state team, or a district or block office.

    `scope` names the district (role district) or block (role block; "DISTRICT/BLOCK" when a
    block name repeats across districts); the state role sees everything and has no scope.
    """

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # state | district | block
    scope: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # Signing out ends every session of the user begun before this (a copied cookie too).
    signed_out_at: Mapped[dt.datetime | None]
    # `kadam user disable`: no sign-in, and every session ends, until `kadam user enable`.
    disabled_at: Mapped[dt.datetime | None]


class LoginAttempt(Base):
    """Failed sign-ins, kept in the database so every web process sees the same count."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    remote_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class PurgeRun(Base):
    """One run of the daily purge of personal data (storage/retention.py): when, up to which
    instants, and what it removed, for the data-protection officer. The newest row says where
    the next run starts."""

    __tablename__ = "purge_run"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    ran_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Messages of people in the roster older than this, and of numbers not in it older than
    # unknown_cutoff, have been looked at (those of a campaign still kept were left).
    cutoff: Mapped[dt.datetime]
    unknown_cutoff: Mapped[dt.datetime]
    campaigns: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
