"""The webhooks, the status callback and the evidence links, fuzzed with Hypothesis on SQLite
and PostgreSQL: signed requests with any text in every field, any extra fields, any NumMedia and
media. Whatever a request holds:

1. it is never answered 5xx;
2. a forged request is 403 whatever it holds, and a refused one (400 or 403) changes nothing;
3. an accepted message is kept whole, with its effects: the row as Twilio sent it (less any NUL
   in its text), the sender's last-heard time and conversation moved in the same transaction
   (inline), or recorded and then answered by the worker without a failure (queue);
4. a status callback never moves a message's status backwards;
5. an evidence link opens its photo or nothing (404).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.engine.engine import Engine
from storage.digests import evidence_link
from storage.models import (
    OUTBOX_RANK,
    Base,
    Conversation,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Task,
)
from tests.clock import wall_now
from tests.factories import make_beo
from tests.seed import seed_project
from tests.test_webhook_input import MEDIA, make_app
from tests.test_webhooks import TOKEN, signed_post

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
HEADMASTER = "+919822012345"
OFFICER = "+919822099999"
STRANGER = "+919800000001"
FRESH = "(a new sid)"
FIELDS = ["MessageSid", "SmsMessageSid", "From", "To", "Body", "ButtonPayload", "ButtonText",
          "NumMedia", "MediaUrl0", "MediaContentType0", "MediaUrl1", "MediaContentType1",
          "AccountSid", "ProfileName", "WaId", "MessageType", "SmsStatus", "NumSegments"]
# What headmasters and officers really say, so the fuzz walks the flows, not only the refusals.
REPLIES = ["yes", "1", "2", "3", "done", "ho gaya", "task 3 done", "status", "tasks", "help",
           "add Paint a story wall", "later", "pause", "0", "undo", "menu", "stop", "start",
           "language", "2 done", "nahi hua, teachers chutti par hain", "school 27310100101",
           "silent", "👍", "३"]
TEXT = st.text(max_size=80)  # any Unicode but surrogates, NUL and control characters included
DIGITS_ANYWHERE = st.sampled_from(["", "0", "1", "2", "10", "11", "²", "٣", "३", "1.0", "-1",
                                   " 1", "20000000", "1" * 30, "abc"])


@pytest.fixture
def people(db):
    """A headmaster invited to a four-task project, and their block's officer; by the real
    clock, which the webhooks stamp each message with."""
    seed_project(db, now=wall_now(), phone=HEADMASTER)
    with db.transaction() as session:
        make_beo(session, district="Satara", block="Wai", phone=OFFICER)
    return db


def snapshot(db):
    """Everything a refused request must leave as it was: every table's rows, when each person
    was last heard from, every conversation and every message's delivery state."""
    with db.sessions() as session:
        counts = tuple(session.scalar(select(func.count()).select_from(table))
                       for table in Base.metadata.sorted_tables)
        heard = session.execute(select(Person.id, Person.last_inbound_at, Person.opted_out_at)
                                .order_by(Person.id)).all()
        talks = session.execute(select(Conversation.person_id, Conversation.state,
                                       Conversation.updated_at)
                                .order_by(Conversation.person_id)).all()
        sends = session.execute(select(Outbox.id, Outbox.status, Outbox.provider_sid,
                                       Outbox.error_code).order_by(Outbox.id)).all()
    return counts, heard, talks, sends


def stored(db, sid):
    with db.sessions() as session:
        return session.scalars(select(InboundMessage).where(InboundMessage.sid == sid)).first()


def sometimes(draw, strategy, otherwise):
    """`strategy`'s value one time in three, else `otherwise`: most requests stay close to
    what Twilio sends, so the fuzz walks the flows and not only the refusals."""
    return draw(strategy) if draw(st.integers(0, 2)) == 0 else otherwise


@st.composite
def inbound_forms(draw):
    """A WhatsApp or SMS webhook form: mostly what Twilio sends, with any field made anything.
    FRESH stands for a sid no request has used yet (filled in when sent)."""
    phone = draw(st.sampled_from([HEADMASTER, HEADMASTER, OFFICER, STRANGER]))
    form = {"MessageSid": FRESH, "SmsMessageSid": FRESH, "AccountSid": "AC" + "0" * 32,
            "From": draw(st.sampled_from([f"whatsapp:{phone}", phone])),
            "To": "whatsapp:+14155238886", "Body": draw(st.one_of(st.sampled_from(REPLIES), TEXT))}
    declared = draw(st.sampled_from([0, 0, 0, 1, 1, 2, 10, 11]))
    form["NumMedia"] = sometimes(draw, st.one_of(DIGITS_ANYWHERE, TEXT), str(declared))
    for i in range(declared):
        form[f"MediaUrl{i}"] = sometimes(draw, TEXT, f"{MEDIA}{i}")
        form[f"MediaContentType{i}"] = sometimes(draw, TEXT, draw(st.sampled_from(
            ["image/jpeg", "image/png", "audio/ogg", "application/pdf", "image/svg+xml", ""])))
    if draw(st.booleans()):
        form["ButtonPayload"] = sometimes(draw, TEXT, draw(st.sampled_from(["1", "yes", "2"])))
    form.update(sometimes(draw, st.dictionaries(
        st.sampled_from(FIELDS), st.one_of(TEXT, DIGITS_ANYWHERE, st.text(max_size=300)),
        max_size=2), {}))
    form.update(draw(st.dictionaries(st.text(max_size=20), TEXT, max_size=3)))
    return form


class Failures(logging.Handler):
    """Records the worker's "could not be handled" lines: a message kept but never answered."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.mark.parametrize("inbound", ["inline", "queue"])
def test_any_signed_message_is_answered_whole_or_refused_untouched(people, tmp_path, inbound):
    db = people
    app = make_app(db.url, tmp_path / "media", inbound)
    client = app.test_client()
    engine = Engine(db, app.config["KADAM"])
    failures = Failures()
    sids = itertools.count(1)
    logging.getLogger("bot.engine.engine").addHandler(failures)

    @FUZZ
    @given(form=inbound_forms(), path=st.sampled_from(["/twilio/whatsapp", "/twilio/sms"]),
           forged=st.integers(0, 5).map(lambda n: n == 5))
    def one_request(form, path, forged):
        fresh = f"SM{next(sids):032x}"
        form = {name: fresh if value == FRESH else value for name, value in form.items()}
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
        before = snapshot(db)
        known = stored(db, sid) is not None if sid else False
        response = signed_post(client, path, form, token="not-the-token" if forged else TOKEN)
        if forged:  # whatever it holds, a forged request is refused first
            assert response.status_code == 403
        else:
            assert response.status_code in (200, 400), response.status_code
        if response.status_code != 200 or known:
            assert snapshot(db) == before
            return
        row = stored(db, sid)
        assert row is not None
        assert row.body == form.get("Body", "").replace("\x00", "")
        assert row.pending == (inbound == "queue")
        if inbound == "queue":
            engine.handle_pending(now=wall_now())
            assert failures.lines == []
            row = stored(db, sid)
            assert not row.pending
        with db.sessions() as session:
            person = session.get(Person, row.person_id) if row.person_id else None
            if person is None:
                # A stranger gets one polite answer a day; their message is kept.
                assert row.phone not in (HEADMASTER, OFFICER)
                assert session.scalar(select(func.count()).select_from(Outbox).where(
                    Outbox.phone == row.phone, Outbox.key == "unregistered")) == 1
                return
            talk = session.get(Conversation, person.id)
        assert person.last_inbound_at == row.received_at
        if inbound == "inline":  # the flow ran in the same transaction as the row's insert
            assert talk.updated_at == row.received_at
        else:
            assert talk.updated_at >= row.received_at

    try:
        one_request()
    finally:
        logging.getLogger("bot.engine.engine").removeHandler(failures)
        app.extensions["kadam.db"].dispose()


@st.composite
def status_callbacks(draw, rows):
    """A delivery status callback and its URL's query, made anything field by field."""
    sid, row_id = draw(st.sampled_from(rows))
    form = {"MessageSid": sometimes(draw, st.one_of(st.just("SM" + "f" * 32), TEXT), sid),
            "MessageStatus": sometimes(draw, TEXT, draw(st.sampled_from(sorted(OUTBOX_RANK)))),
            "AccountSid": "AC" + "0" * 32}
    code = sometimes(draw, st.one_of(DIGITS_ANYWHERE, TEXT),
                     draw(st.sampled_from(["", "21610", "63016", "30008"])))
    if code:
        form["ErrorCode"] = code
    form.update(sometimes(draw, st.dictionaries(
        st.sampled_from(["SmsSid", "SmsStatus", "ErrorCode", "ErrorMessage", "To", "From"]),
        TEXT, max_size=2), {}))
    form.update(draw(st.dictionaries(st.text(max_size=20), TEXT, max_size=2)))
    # The row the URL names: this message's, another's (a fallback copy's too), or anything.
    outbox = sometimes(draw, st.one_of(DIGITS_ANYWHERE, TEXT), draw(st.one_of(
        st.sampled_from([None, str(row_id)]), st.integers(1, len(rows) + 4).map(str))))
    query = "" if outbox is None else "?outbox=" + quote(outbox, safe="")
    return form, query


def test_any_signed_status_callback_moves_forward_or_changes_nothing(people, tmp_path):
    db = people
    app = make_app(db.url, tmp_path / "media")
    client = app.test_client()
    signed_post(client, "/twilio/whatsapp", {"MessageSid": "SM" + "a" * 32,
                                             "From": f"whatsapp:{HEADMASTER}", "Body": "yes"})
    with db.transaction() as session:
        sent = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        for n, row in enumerate(sent):
            row.provider_sid, row.status = f"SM{n:032d}", "sent"
        rows = [(row.provider_sid, row.id) for row in sent]
    assert rows

    @FUZZ
    @given(callback=status_callbacks(rows))
    def one_callback(callback):
        form, query = callback
        before = snapshot(db)
        response = signed_post(client, "/twilio/status" + query, form)
        assert response.status_code in (200, 400), response.status_code
        after = snapshot(db)
        if response.status_code == 400:
            assert after == before
        ranks = {row_id: OUTBOX_RANK.get(status, 0) for row_id, status, _, _ in before[3]}
        for row_id, status, _, _ in after[3]:
            assert OUTBOX_RANK.get(status, 0) >= ranks.get(row_id, 0)

    try:
        one_callback()
    finally:
        app.extensions["kadam.db"].dispose()


def test_any_evidence_link_opens_its_photo_or_nothing(people, tmp_path):
    db = people
    app = make_app(db.url, tmp_path / "media")
    client = app.test_client()
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "p.jpg").write_bytes(b"\xff\xd8\xff\xe0photo")
    with db.transaction() as session:
        evidence = Evidence(task_id=session.scalar(select(func.min(Task.id))), kind="photo",
                            content_type="image/jpeg", status="stored", path="p.jpg")
        session.add(evidence)
        session.flush()
        # The link's expiry is checked against the real clock.
        good = evidence_link("", "k" * 32, evidence.id, wall_now() + dt.timedelta(days=30))
    _, _, good_id, good_token = good.split("/")

    @st.composite
    def links(draw):
        return (sometimes(draw, st.one_of(TEXT, st.integers(-5, 2**70).map(str),
                                          DIGITS_ANYWHERE), good_id),
                sometimes(draw, st.one_of(TEXT, st.text("0123456789abcdef", min_size=20,
                                                        max_size=20)), good_token))

    @FUZZ
    @given(link=links(), raw=st.booleans())
    def one_link(link, raw):
        evidence_id, token = link
        if raw:  # as typed, not percent-encoded: the client sends what it can
            url = f"/evidence/{evidence_id}/{token}"
        else:
            url = f"/evidence/{quote(evidence_id, safe='')}/{quote(token, safe='')}"
        with client.get(url) as response:
            # 308: werkzeug's redirect from "//" (a token "/0" typed as "%2F0") to "/".
            assert response.status_code in (200, 308, 404), (url, response.status_code)
            if response.status_code == 200:
                assert url == good
                assert response.data == b"\xff\xd8\xff\xe0photo"

    try:
        one_link()
    finally:
        app.extensions["kadam.db"].dispose()
