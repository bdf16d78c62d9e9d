"""Evidence rows: the queue of files waiting to be fetched (bot/worker/media.py fetches them),
and finding one by its id (the links in a digest, bot/web/evidence.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Evidence, Project, Task


def next_to_fetch(session: Session, now: dt.datetime, max_attempts: int,
                  skip: Sequence[int] = (), *, lock: bool = False) -> Evidence | None:
    """The oldest pending file due for a try by `now` that has had fewer than `max_attempts`,
    leaving out the ids in `skip`. With `lock` (PostgreSQL), the row stays locked until the
    transaction ends and other workers pass it by (FOR UPDATE SKIP LOCKED)."""
    # A row written without a due time (older code paths) is due from its arrival.
    due_at = func.coalesce(Evidence.next_attempt_at, Evidence.created_at)
    query = (
        select(Evidence)
        .where(Evidence.status == "pending", Evidence.source_url.is_not(None),
               Evidence.attempts < max_attempts, due_at <= now)
        .order_by(Evidence.id)
        .limit(1)
    )
    if skip:
        query = query.where(Evidence.id.not_in(list(skip)))
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def find(session: Session, evidence_id: int) -> Evidence | None:
    return session.get(Evidence, evidence_id)


def task_number(session: Session, evidence: Evidence) -> int | None:
    """The number of the task the evidence is for, as the headmaster knows it."""
    return session.scalar(select(Task.position).where(Task.id == evidence.task_id))


def headmaster_of(session: Session, evidence: Evidence) -> tuple[int, int] | None:
    """(headmaster id, project id) of the project the evidence was sent for."""
    found = session.execute(
        select(Project.headmaster_id, Task.project_id)
        .join(Task, Task.project_id == Project.id)
        .where(Task.id == evidence.task_id)
    ).first()
    return (found[0], found[1]) if found else None
