"""Turning an outbox row into text: the one place the worker and the simulator share."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.messages import Rendered, render
from storage.models import Outbox, Person


def row_params(session: Session, row: Outbox) -> dict[str, Any]:
    """The row's parameters as the message needs them. Set-based writers leave some empty,
    to be filled when the row is sent: a launch's invitations, a broadcast's messages."""
    params = dict(row.params or {})
    if row.key == "invitation" and not params and row.project_id:
        from storage.campaigns import invitation_params

        params = invitation_params(session, row.project_id)
    if row.broadcast_id and not params:
        # A broadcast's rows point at its one copy of the text (or the stories it celebrates).
        from storage.models import Broadcast

        broadcast = session.get(Broadcast, row.broadcast_id)
        message = broadcast.message if broadcast else {}
        params = {"stories": message["stories"]} if "stories" in message else {"text": message}
    return params


def render_row(session: Session, row: Outbox, person: Person | None,
               default_language: str = "en", params: dict[str, Any] | None = None) -> Rendered:
    """Render in the recipient's language now, not when the row was queued (they may have
    switched language since). `params`: the row's, when the caller has filled them already."""
    params = row_params(session, row) if params is None else params
    language = person.language if person else (row.language or default_language)
    second = person.second_language if person else None
    return render(row.key, params, list(row.options or []), language, second)
