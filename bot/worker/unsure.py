"""Whether a message whose last attempt has no known outcome reached the provider after all.

An attempt's outcome is unknown when its worker died between the provider call and the record
of it, or when the provider did not answer in time (it may have accepted the message). Such a
row keeps `unsure_since` (storage.outbox), and before it is sent again the provider's list of
messages to that number is read: a message from our sender, created since that attempt, that
no other row holds, with this text, is the one; it is recorded as sent with its sid, and
nothing is sent. A template's text is the provider's own, so for a template any such message
is taken to be it (a person's messages go out one at a time, so there is at most one).
"""

from __future__ import annotations

import datetime as dt

from bot.worker.channels import Channel, Found, OutgoingMessage
from storage import outbox
from storage.db import Database

# How much earlier than the unsure attempt's claim the provider may date the message (the
# clocks of two machines differ; Twilio dates to the second).
CLOCK_SKEW = dt.timedelta(minutes=2)


def find_sent(database: Database, channel: Channel, item: outbox.ClaimedMessage,
              message: OutgoingMessage) -> Found | None:
    """The provider's record of this message, if an earlier attempt reached it. Raises the
    channel's TemporaryError when the provider cannot be asked."""
    finder = getattr(channel, "find", None)
    if finder is None or item.unsure_since is None:
        return None  # the console sends nothing that could arrive twice
    since = item.unsure_since - CLOCK_SKEW
    listed: list[Found] = [f for f in finder(message)
                           if f.created_at is None or f.created_at >= since]
    if not listed:
        return None
    with database.sessions() as session:
        known = outbox.known_sids(session, [f.sid for f in listed])
    body = message.body.strip()
    for found in reversed(listed):  # oldest first: the earliest attempt's
        if found.sid not in known and (found.body.strip() == body
                                       or message.form == "template"):
            return found
    return None
