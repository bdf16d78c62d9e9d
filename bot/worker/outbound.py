"""Turning an outbox row into text: the one place the worker and the simulator share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from bot.language.i18n import DEFAULT_REGION
from bot.language.messages import Rendered, render
from bot.language.sms_fit import sms_text
from storage import broadcasts
from storage.campaigns import invitation_params_many
from storage.models import Outbox, Person
from storage.retention import PURGED_PARAMS

# A message whose text the purge or an erasure emptied (storage/retention.py).
REMOVED = Rendered("(text removed: past its retention, or erased on request)")


def row_params(session: Session, row: Outbox) -> dict[str, Any]:
    """The row's parameters as the message needs them. Set-based writers leave some empty,
    to be filled when the row is sent: a launch's invitations, a broadcast's messages."""
    return rows_params(session, [row])[row.id]


def rows_params(session: Session, rows: Iterable[Outbox]) -> dict[int, dict[str, Any]]:
    """row_params for a batch of rows, with one query for all the launch invitations in it."""
    rows = list(rows)
    params = {row.id: dict(row.params or {}) for row in rows}
    invitations = {row.id: row.project_id for row in rows
                   if row.key == "invitation" and not params[row.id] and row.project_id}
    if invitations:
        filled = invitation_params_many(session, invitations.values())
        for row_id, project_id in invitations.items():
            # A project gone since the launch leaves nothing to fill: that row alone fails.
            params[row_id] = filled.get(project_id, {})
    for row in rows:
        if row.broadcast_id and not params[row.id]:
            # A broadcast's rows point at its one copy of the text (or the stories it
            # celebrates); the session's identity map reads each broadcast once.
            broadcast = broadcasts.find(session, row.broadcast_id)
            message = broadcast.message if broadcast else {}
            params[row.id] = ({"stories": message["stories"]} if "stories" in message
                              else {"text": message})
    return params


def render_row(session: Session, row: Outbox, person: Person | None,
               default_language: str = "en", params: dict[str, Any] | None = None,
               region: str = DEFAULT_REGION) -> Rendered:
    """Render in the recipient's language now, not when the row was queued (they may have
    switched language since). `params`: the row's, when the caller has filled them already."""
    if row.params == PURGED_PARAMS:
        return REMOVED
    params = row_params(session, row) if params is None else params
    language, second = _languages(row, person, default_language)
    return render(row.key, params, list(row.options or []), language, second, region)


def sms_row(session: Session, row: Outbox, person: Person | None,
            default_language: str = "en", params: dict[str, Any] | None = None,
            region: str = DEFAULT_REGION) -> str:
    """The row as an SMS phone gets it, shortened to its segment budget (bot.language.sms_fit)."""
    if row.params == PURGED_PARAMS:
        return REMOVED.text
    params = row_params(session, row) if params is None else params
    language, second = _languages(row, person, default_language)
    return sms_text(row.key, params, list(row.options or []), language, second, region)


def _languages(row: Outbox, person: Person | None,
               default_language: str) -> tuple[str, str | None]:
    if person is None:
        return row.language or default_language, None
    return person.language, person.second_language
