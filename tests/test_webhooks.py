"""Webhooks driven the way Twilio drives them: form posts signed with the account's token."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot import create_app
from storage.models import InboundMessage, Outbox, Project, Task
from tests.clock import wall_now
from tests.seed import seed_project

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://kadam.example.org"


# The webhooks stamp each message with the real time, so each test seeds its project by the
# real clock too (tests.clock.wall_now); no answer checked here depends on the date or hour.
@pytest.fixture
def app(db, tmp_path):
    app = create_app({"database_url": db.url, "twilio_account_sid": "AC" + "0" * 32,
                      "twilio_auth_token": TOKEN, "public_url": PUBLIC,
                      "media_dir": tmp_path / "media", "TESTING": True})
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def signed_post(client, path, form, token=TOKEN, url=None):
    signature = RequestValidator(token).compute_signature(url or PUBLIC + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def whatsapp(phone, body, sid=None, **extra):
    form = {"MessageSid": sid or "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:{phone}", "To": "whatsapp:+14155238886", "Body": body,
            "NumMedia": "0"}
    form.update(extra)
    return form


def count(db, model, *where):
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def replies(db, phone):
    with db.sessions() as session:
        return session.scalars(select(Outbox.key).where(Outbox.phone == phone)
                               .order_by(Outbox.id)).all()


def test_signed_message_is_answered_with_empty_twiml(db, client):
    seeded = seed_project(db, now=wall_now())
    response = signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert b"<Response/>" in response.data
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]
    with db.sessions() as session:
        assert session.get(Project, seeded.project_id).status == "started"


@pytest.mark.parametrize("tamper", ["no-signature", "wrong-token", "wrong-url", "changed-body"])
def test_forged_webhooks_get_403_and_store_nothing(db, client, tamper):
    seeded = seed_project(db, now=wall_now())
    form = whatsapp(seeded.phone, "yes")
    if tamper == "no-signature":
        response = client.post("/twilio/whatsapp", data=form)
    elif tamper == "wrong-token":
        response = signed_post(client, "/twilio/whatsapp", form, token="not-the-token")
    elif tamper == "wrong-url":
        response = signed_post(client, "/twilio/whatsapp", form,
                               url="https://evil.example.org/twilio/whatsapp")
    else:
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/whatsapp", form)
        response = client.post("/twilio/whatsapp", data={**form, "Body": "done"},
                               headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert count(db, InboundMessage) == 0
    assert count(db, Outbox) == 0


def test_retried_webhook_is_processed_once(db, client):
    seeded = seed_project(db, now=wall_now())
    form = whatsapp(seeded.phone, "yes", sid="SM" + "a" * 32)
    first = signed_post(client, "/twilio/whatsapp", form)
    second = signed_post(client, "/twilio/whatsapp", form)
    assert first.status_code == second.status_code == 200
    assert count(db, InboundMessage) == 1
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]


def test_concurrent_duplicates_are_processed_once(db, app):
    seeded = seed_project(db, now=wall_now())
    form = whatsapp(seeded.phone, "yes", sid="SM" + "b" * 32)
    barrier = threading.Barrier(4)
    codes = []

    def post():
        client = app.test_client()
        barrier.wait()
        codes.append(signed_post(client, "/twilio/whatsapp", form).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 4
    assert count(db, InboundMessage) == 1
    assert replies(db, seeded.phone) == ["invitation.accepted", "task.prompt"]


def test_sms_webhook_and_photo_evidence(db, client):
    seeded = seed_project(db, now=wall_now(), channel="sms")
    signed_post(client, "/twilio/sms", {"MessageSid": "SM" + "c" * 32, "From": seeded.phone,
                                        "Body": "1", "NumMedia": "0"})
    form = whatsapp(seeded.phone, "3", NumMedia="1",
                    MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Media/ME1",
                    MediaContentType0="image/jpeg")
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    with db.sessions() as session:
        from storage.models import Evidence

        evidence = session.scalars(select(Evidence)).one()
        task = session.get(Task, evidence.task_id)
    assert task.position == 3
    assert evidence.status == "pending"  # the worker fetches it
    assert evidence.source_url.endswith("/Media/ME1")


def test_unknown_phone_gets_one_polite_reply_and_is_kept(db, client):
    for body in ("hello", "hello again"):
        signed_post(client, "/twilio/whatsapp", whatsapp("+919999900000", body))
    assert count(db, InboundMessage) == 2
    assert replies(db, "+919999900000") == ["unregistered"]


def test_status_callback_moves_forward_only(db, client):
    seeded = seed_project(db, now=wall_now())
    signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    with db.transaction() as session:
        row = session.scalars(select(Outbox).order_by(Outbox.id)).first()
        row.provider_sid, row.status = "SM" + "d" * 32, "sent"
    for state in ("read", "delivered", "sent"):
        response = signed_post(client, "/twilio/status",
                               {"MessageSid": "SM" + "d" * 32, "MessageStatus": state})
        assert response.status_code == 200
    with db.sessions() as session:
        assert session.scalars(select(Outbox.status).order_by(Outbox.id)).first() == "read"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_status_callback_that_beats_the_worker_finds_its_row(db, client):
    seeded = seed_project(db, now=wall_now())
    signed_post(client, "/twilio/whatsapp", whatsapp(seeded.phone, "yes"))
    with db.sessions() as session:
        row_id = session.scalars(select(Outbox.id).order_by(Outbox.id)).first()
    # Twilio reports delivery before the worker has recorded the message's sid.
    path = f"/twilio/status?outbox={row_id}"
    response = signed_post(client, path, {"MessageSid": "SM" + "e" * 32,
                                          "MessageStatus": "delivered"})
    assert response.status_code == 200
    with db.sessions() as session:
        row = session.get(Outbox, row_id)
    assert (row.status, row.provider_sid) == ("delivered", "SM" + "e" * 32)
