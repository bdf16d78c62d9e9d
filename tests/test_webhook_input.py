"""Bad input to the webhooks, one field at a time: a signed form no Twilio request could carry
is answered 400 and stores nothing; what Twilio does send, up to the longest each column holds,
is kept. Never a 5xx: a database that cannot be reached is a 503 Twilio may retry.
Both inbound modes (inline, KADAM_INBOUND=queue), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot import create_app
from bot.engine.engine import Engine
from storage.digests import evidence_link
from storage.models import Evidence, InboundMessage, Outbox, Person
from tests.clock import wall_now
from tests.seed import seed_project
from tests.test_webhooks import PUBLIC, TOKEN, count, replies, signed_post, whatsapp

MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0"
WITH_PHOTO = {"NumMedia": "1", "MediaUrl0": MEDIA, "MediaContentType0": "image/jpeg"}


def make_app(database_url, media_dir, inbound="inline"):
    return create_app({"database_url": database_url, "twilio_account_sid": "AC" + "0" * 32,
                       "twilio_auth_token": TOKEN, "public_url": PUBLIC,
                       "media_dir": media_dir, "secret_key": "k" * 32, "TESTING": True,
                       "inbound": inbound})


@pytest.fixture(params=["inline", "queue"])
def app(request, db, tmp_path):
    app = make_app(db.url, tmp_path / "media", request.param)
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def answer(app, db, messages=1):
    """In queue mode, what `kadam worker` does next: it answers the `messages` the webhook
    recorded. Inline, the webhook answered them already and nothing is left pending.
    (The webhooks stamp each message with the real time, and the worker answers just after:
    so the projects here are seeded by the real clock too.)"""
    queued = app.config["KADAM"].inbound == "queue"
    answered = Engine(db, app.config["KADAM"]).handle_pending(now=wall_now())
    assert answered == (messages if queued else 0)


def heard_at(db, person_id):
    with db.sessions() as session:
        return session.get(Person, person_id).last_inbound_at


# (what is wrong, the fields that make it so)
REFUSED = [
    ("NumMedia in letters", {"NumMedia": "abc"}),
    ("NumMedia with a decimal point", {"NumMedia": "1.0"}),
    ("NumMedia a superscript digit", {"NumMedia": "²"}),
    ("NumMedia an Arabic-Indic digit", {"NumMedia": "٣"}),
    ("NumMedia a Devanagari digit", {"NumMedia": "३"}),
    ("NumMedia negative", {"NumMedia": "-1"}),
    ("NumMedia padded", {"NumMedia": " 1"}),
    ("NumMedia over 10", {"NumMedia": "11", **{f"MediaUrl{i}": MEDIA for i in range(11)}}),
    ("NumMedia twenty million", {"NumMedia": "20000000"}),
    ("NumMedia 5000 digits", {"NumMedia": "1" * 5000}),
    ("From over 32 characters", {"From": "whatsapp:+" + "9" * 32}),
    ("SMS From over 32 characters", {"From": "+" + "9" * 32}),
    ("From with a NUL", {"From": "whatsapp:+91982\x002012345"}),
    ("From with a space", {"From": "whatsapp:+91 9822012345"}),
    ("From empty", {"From": "whatsapp:"}),
    ("MessageSid over 64 characters", {"MessageSid": "SM" + "a" * 63}),
    ("MessageSid with a NUL", {"MessageSid": "SM\x00" + "a" * 31}),
    ("MessageSid not ASCII", {"MessageSid": "SMé" + "a" * 31}),
    ("MessageSid missing", {"MessageSid": ""}),
    ("ButtonPayload over 255 characters", {"ButtonPayload": "p" * 256}),
    ("ButtonPayload with a NUL", {"ButtonPayload": "yes\x00"}),
    ("MediaUrl0 with a NUL", {**WITH_PHOTO, "MediaUrl0": MEDIA + "\x00"}),
    ("MediaUrl0 not http", {**WITH_PHOTO, "MediaUrl0": "javascript:alert(1)"}),
    ("MediaUrl0 a broken IPv6 host", {**WITH_PHOTO, "MediaUrl0": "http://[::1/x"}),
    ("MediaUrl0 over 2048 characters", {**WITH_PHOTO, "MediaUrl0": MEDIA + "a" * 2048}),
    ("MediaContentType0 over 128 characters", {**WITH_PHOTO,
                                               "MediaContentType0": "image/" + "x" * 123}),
    ("MediaContentType0 with a NUL", {**WITH_PHOTO, "MediaContentType0": "image/jpeg\x00"}),
    ("MediaContentType0 not ASCII", {**WITH_PHOTO, "MediaContentType0": "image/jpég"}),
    ("Body longer than any message", {"Body": "ho gaya " * 8193}),
]


@pytest.mark.parametrize("path", ["/twilio/whatsapp", "/twilio/sms"])
@pytest.mark.parametrize(("wrong", "fields"), REFUSED, ids=[w for w, _ in REFUSED])
def test_a_form_twilio_could_not_send_is_refused_and_nothing_is_stored(
        db, app, client, path, wrong, fields):
    seeded = seed_project(db, now=wall_now())
    response = signed_post(client, path, whatsapp(seeded.phone, "yes", **fields))
    assert response.status_code == 400, wrong
    answer(app, db, messages=0)
    assert count(db, InboundMessage) == 0
    assert count(db, Outbox) == 0
    assert heard_at(db, seeded.person_id) is None


def test_a_forged_request_is_403_before_its_fields_are_read(db, client):
    seeded = seed_project(db, now=wall_now())
    form = whatsapp(seeded.phone, "yes", NumMedia="²", From="whatsapp:+" + "9" * 40)
    response = signed_post(client, "/twilio/whatsapp", form, token="not-the-token")
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0


@pytest.mark.parametrize("path", ["/twilio/whatsapp", "/twilio/status"])
def test_a_url_whose_query_is_not_utf8_carries_no_signature_of_twilios(db, client, path):
    """Twilio percent-encodes its URLs; raw bytes that are not UTF-8 (sent as they are by a
    client that does not) would make Flask fail reading the query. Signed as best one can,
    over the bytes decoded with replacement characters, it is still no signature."""
    form = {"MessageSid": "SM" + "d" * 32, "MessageStatus": "delivered",
            "From": "+919822012345", "Body": "yes"}
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}{path}?outbox=\ufffd", form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature},
                           environ_overrides={"QUERY_STRING": "outbox=\xff"})
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0


def test_what_twilio_sends_is_kept_up_to_the_longest_each_column_holds(db, app, client):
    sid = "SM" + "f" * 62
    phone = "+" + "9" * 31
    form = whatsapp(phone, "ho gaya " * 8192, sid=sid, ButtonPayload="p" * 255, NumMedia="10",
                    **{f"MediaUrl{i}": f"{MEDIA}{i}" for i in range(10)},
                    **{f"MediaContentType{i}": "image/" + "x" * 122 for i in range(10)})
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    answer(app, db)
    with db.sessions() as session:
        row = session.scalars(select(InboundMessage)).one()
    assert (row.sid, row.phone, row.button_payload) == (sid, phone, "p" * 255)
    assert len(row.body) == 65_536
    assert [m["url"] for m in row.media] == [f"{MEDIA}{i}" for i in range(10)]
    assert replies(db, phone) == ["unregistered"]


@pytest.mark.parametrize("num_media", ["", "0", "00"])
def test_no_media_may_be_said_several_ways(db, app, client, num_media):
    seeded = seed_project(db, now=wall_now())
    form = whatsapp(seeded.phone, "yes", NumMedia=num_media)
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    answer(app, db)
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]


def test_a_nul_in_a_message_is_removed_and_the_message_answered(db, app, client):
    seeded = seed_project(db, now=wall_now())
    assert signed_post(client, "/twilio/whatsapp",
                       whatsapp(seeded.phone, "ye\x00s")).status_code == 200
    answer(app, db)
    with db.sessions() as session:
        assert session.scalars(select(InboundMessage.body)).one() == "yes"
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]


def test_a_photo_with_a_long_declared_type_is_kept_as_evidence(db, app, client):
    seeded = seed_project(db, now=wall_now())
    signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    answer(app, db)
    content_type = "image/jpeg; " + "x" * 116  # 128 characters, the column's length
    form = whatsapp(seeded.phone, "3", NumMedia="1", MediaUrl0=MEDIA,
                    MediaContentType0=content_type)
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    answer(app, db)
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    assert (evidence.source_url, evidence.content_type) == (MEDIA, content_type)


# --- status callbacks -------------------------------------------------------------------------

REFUSED_STATUS = [
    ("ErrorCode a superscript digit", {"ErrorCode": "²"}, ""),
    ("ErrorCode an Arabic-Indic digit", {"ErrorCode": "٣"}, ""),
    ("ErrorCode with a decimal point", {"ErrorCode": "63016.0"}, ""),
    ("ErrorCode in letters", {"ErrorCode": "abc"}, ""),
    ("ErrorCode negative", {"ErrorCode": "-1"}, ""),
    ("ErrorCode past INTEGER", {"ErrorCode": "9" * 10}, ""),
    ("outbox a superscript digit", {}, "?outbox=%C2%B2"),
    ("outbox 30 digits", {}, "?outbox=" + "9" * 30),
    ("outbox past BIGINT", {}, f"?outbox={2**63}"),
    ("outbox negative", {}, "?outbox=-1"),
    ("outbox empty", {}, "?outbox="),
    ("outbox with a NUL", {}, "?outbox=1%00"),
    ("MessageSid over 64 characters", {"MessageSid": "SM" + "d" * 63}, ""),
    ("MessageSid with a NUL", {"MessageSid": "SM\x00" + "d" * 31}, ""),
    ("MessageSid missing", {"MessageSid": ""}, ""),
    ("MessageStatus with a NUL", {"MessageStatus": "delivered\x00"}, ""),
    ("MessageStatus not ASCII", {"MessageStatus": "delivereᏧ"}, ""),
    ("MessageStatus missing", {"MessageStatus": ""}, ""),
]


@pytest.mark.parametrize(("wrong", "fields", "query"), REFUSED_STATUS,
                         ids=[w for w, _, _ in REFUSED_STATUS])
def test_a_status_callback_twilio_could_not_send_is_refused_and_changes_nothing(
        db, app, client, wrong, fields, query):
    seeded = seed_project(db, now=wall_now())
    row_id = sent_reply(db, app, client, seeded)
    form = {"MessageSid": "SM" + "d" * 32, "MessageStatus": "undelivered",
            "ErrorCode": "21610", **fields}
    response = signed_post(client, "/twilio/status" + query, form)
    assert response.status_code == 400, wrong
    with db.sessions() as session:
        row = session.get(Outbox, row_id)
        person = session.get(Person, seeded.person_id)
    assert (row.status, row.error_code) == ("sent", None)
    assert person.opted_out_at is None  # 21610 would have opted them out


def sent_reply(db, app, client, seeded) -> int:
    """The first reply to the headmaster, recorded as sent with sid SMddd..."""
    signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    answer(app, db)
    with db.transaction() as session:
        row = session.scalars(select(Outbox).order_by(Outbox.id)).first()
        row.provider_sid, row.status = "SM" + "d" * 32, "sent"
        return row.id


def test_a_status_callback_at_the_limits_is_applied(db, app, client):
    seeded = seed_project(db, now=wall_now())
    row_id = sent_reply(db, app, client, seeded)
    with db.transaction() as session:
        session.get(Outbox, row_id).provider_sid = None  # the callback beats the worker
    sid = "SM" + "e" * 62
    response = signed_post(client, f"/twilio/status?outbox={row_id}",
                           {"MessageSid": sid, "MessageStatus": "Undelivered",
                            "ErrorCode": "30008"})
    assert response.status_code == 200
    with db.sessions() as session:
        row = session.get(Outbox, row_id)
    assert (row.provider_sid, row.status, row.error_code) == (sid, "undelivered", 30008)


def test_a_callback_naming_one_row_and_another_rows_sid_gives_the_sid_to_no_second_row(
        db, app, client):
    seeded = seed_project(db, now=wall_now())
    holder = sent_reply(db, app, client, seeded)  # holds SMddd...
    with db.sessions() as session:
        other = session.scalars(select(Outbox.id).where(Outbox.id != holder)).first()
    response = signed_post(client, f"/twilio/status?outbox={other}",
                           {"MessageSid": "SM" + "d" * 32, "MessageStatus": "delivered"})
    assert response.status_code == 200
    with db.sessions() as session:
        first, second = session.get(Outbox, holder), session.get(Outbox, other)
    assert (first.provider_sid, first.status) == ("SM" + "d" * 32, "delivered")
    assert (second.provider_sid, second.status) == (None, "queued")


def test_a_status_twilio_may_add_later_is_accepted_and_ignored(db, app, client):
    seeded = seed_project(db, now=wall_now())
    row_id = sent_reply(db, app, client, seeded)
    response = signed_post(client, "/twilio/status",
                           {"MessageSid": "SM" + "d" * 32, "MessageStatus": "partially_delivered"})
    assert response.status_code == 200
    with db.sessions() as session:
        assert session.get(Outbox, row_id).status == "sent"


# --- evidence links ---------------------------------------------------------------------------

MALFORMED_LINKS = [
    "/evidence/1/%C3%A9",
    "/evidence/1/%00",
    "/evidence/1/" + "a" * 5000,
    "/evidence/%C2%B2/0123456789abcdef0123",
    "/evidence/%D9%A3/0123456789abcdef0123",
    "/evidence/-1/0123456789abcdef0123",
    "/evidence/" + "9" * 30 + "/0123456789abcdef0123",
    f"/evidence/{2**63}/0123456789abcdef0123",
    "/evidence/1.0/0123456789abcdef0123",
    "/evidence/%00/%00",
    "/evidence/1/%FF",  # not UTF-8
]


@pytest.mark.parametrize("url", MALFORMED_LINKS)
def test_a_malformed_evidence_link_is_not_found(db, client, url):
    assert client.get(url).status_code == 404


def test_an_evidence_link_opens_its_photo_and_no_other(db, app, client, tmp_path):
    seeded = seed_project(db, now=wall_now())
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    (media / "p.jpg").write_bytes(b"\xff\xd8\xff\xe0photo")
    with db.transaction() as session:
        evidence = Evidence(task_id=seeded.task_ids[0], kind="photo", content_type="image/jpeg",
                            status="stored", path="p.jpg")
        session.add(evidence)
        session.flush()
        evidence_id = evidence.id
    # The link's expiry is checked against the real clock.
    link = evidence_link("", "k" * 32, evidence_id, wall_now() + dt.timedelta(days=30))
    with client.get(link) as response:
        assert (response.status_code, response.data) == (200, b"\xff\xd8\xff\xe0photo")
    token = link.rsplit("/", 1)[1]
    assert client.get(f"/evidence/{evidence_id + 1}/{token}").status_code == 404


# --- the database away ------------------------------------------------------------------------

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-kadam-folder/kadam.db",
    "postgresql": "postgresql://postgres@127.0.0.1:1/kadam",  # nothing listens on port 1
}


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
@pytest.mark.parametrize("inbound", ["inline", "queue"])
@pytest.mark.parametrize("path", ["/twilio/whatsapp", "/twilio/sms", "/twilio/status?outbox=7"])
def test_without_its_database_the_webhook_answers_503_and_logs_one_line(
        tmp_path, caplog, backend, inbound, path):
    app = make_app(UNREACHABLE[backend], tmp_path / "media", inbound)
    form = (whatsapp("+919822012345", "yes") if "status" not in path
            else {"MessageSid": "SM" + "d" * 32, "MessageStatus": "delivered"})
    caplog.set_level(logging.INFO)
    for _ in range(3):
        response = signed_post(app.test_client(), path, form)
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 3, [r.getMessage() for r in problems]
    for record in problems:
        assert record.exc_info is None  # a line, not a traceback
        assert "database unavailable" in record.getMessage()
        assert "9822012345" not in record.getMessage()
    app.extensions["kadam.db"].dispose()


def test_a_message_twilio_retries_after_the_outage_is_answered_once(db, tmp_path):
    seeded = seed_project(db, now=wall_now())
    form = whatsapp(seeded.phone, "yes")
    down = make_app(UNREACHABLE["sqlite"], tmp_path / "media")
    assert signed_post(down.test_client(), "/twilio/whatsapp", form).status_code == 503
    up = make_app(db.url, tmp_path / "media")
    for _ in range(2):
        assert signed_post(up.test_client(), "/twilio/whatsapp", form).status_code == 200
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]
    for app in (down, up):
        app.extensions["kadam.db"].dispose()
