"""WhatsApp's 24-hour window and quiet hours, decided per recipient when the worker sends.

Driven through the real twilio library against the local stand-in (TWILIO_API_URL), on SQLite
and, with TEST_DATABASE_URL, on PostgreSQL. Status callbacks come in through the Flask app,
signed the way Twilio signs them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from bot import create_app
from bot.cli import main
from bot.config import Settings
from bot.language.templates_map import TemplateMap, TemplateMapError, load
from bot.worker.channels import ConsoleChannel, choose_form
from bot.worker.loop import Worker
from storage import outbox
from storage.conversations import queue_message
from storage.db import Database
from storage.models import InboundMessage, Outbox, Person, School
from storage.outbox import ClaimedMessage
from storage.schedule import QuietHours
from tests.test_worker import PUBLIC, SMS_FROM, WHATSAPP_FROM, settings_for
from tests.twilio_standin import TwilioStandin

NOW = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)  # 10:30 in Kolkata, 07:00 in Kigali
PROMPT_EN = "HX" + "a" * 32
PROMPT_HI = "HX" + "b" * 32
INVITE_EN = "HX" + "c" * 32
CARRIER_EN = "HX" + "d" * 32
TEMPLATES = f"""
task.prompt:
  en: {{content_sid: {PROMPT_EN}, variables: [position, total, title]}}
  hi: {{content_sid: {PROMPT_HI}, variables: [position, total, title]}}
invitation:
  en: {{content_sid: {INVITE_EN}, variables: [name, title, weeks]}}
task.reminder:
  en: {{content_sid: {CARRIER_EN}, variables: [text]}}
"""
PROMPT = {"position": 2, "total": 5, "description": "", "photo": False,
          "title": {"en": "Find stories for children", "hi": "बच्चों के लिए कहानियाँ खोजें"},
          "project_title": {"en": "Retell the Tale", "hi": "कहानी फिर से सुनाओ"}}
OPTIONS = ("option.done", "option.in_progress", "option.need_help")
PROMPT_TEXT = ("Task 2 of 5: Find stories for children\nHow is it going? Reply with a number:"
               "\n\n1. Done\n2. In progress\n3. Need help")


@pytest.fixture
def twilio():
    with TwilioStandin() as standin:
        yield standin


@pytest.fixture(autouse=True)
def _default_quiet_hours(monkeypatch):
    monkeypatch.delenv("KADAM_QUIET_HOURS", raising=False)
    monkeypatch.delenv("KADAM_TIMEZONE", raising=False)


@pytest.fixture
def templates_file(tmp_path: Path) -> Path:
    path = tmp_path / "templates.yaml"
    path.write_text(TEMPLATES, encoding="utf-8")
    return path


def add_person(db: Database, phone: str, *, language: str = "en",
               last_inbound_at: dt.datetime | None = None, sms_allowed: bool = True,
               timezone: str | None = None, channel: str = "whatsapp") -> int:
    with db.transaction() as session:
        school = School(code=f"S{phone[-6:]}", name="ZP School Wai", district="Satara",
                        block="Wai", timezone=timezone)
        person = Person(phone=phone, name="Sunita Pawar", role="headmaster", language=language,
                        school=school, channel=channel, last_inbound_at=last_inbound_at,
                        sms_allowed=sms_allowed, district="Satara", block="Wai")
        session.add(person)
        session.flush()
        return person.id


def queue(db: Database, person_id: int | None, phone: str, key: str = "task.prompt",
          params: dict[str, Any] | None = None, options: tuple[str, ...] = OPTIONS,
          at: dt.datetime = NOW, reply: bool = False, language: str | None = None) -> int:
    with db.transaction() as session:
        inbound_id = None
        if reply:
            inbound = InboundMessage(sid=f"SM{phone[-8:]}{at:%H%M}", phone=phone,
                                     person_id=person_id, channel="whatsapp", body="status",
                                     received_at=at)
            session.add(inbound)
            session.flush()
            inbound_id = inbound.id
        row = queue_message(session, phone=phone, channel="whatsapp", key=key,
                            params=PROMPT if params is None else params, options=options,
                            person_id=person_id, in_reply_to=inbound_id, language=language)
        row.created_at = row.next_attempt_at = at
        session.flush()
        return row.id


def row(db: Database, row_id: int) -> Outbox:
    with db.sessions() as session:
        found = session.get(Outbox, row_id)
        assert found is not None
        return found


def run(db: Database, settings: Settings, now: dt.datetime = NOW):
    with Worker(db, settings) as worker:
        return worker.run_once(now)


# --- inside and outside the window ------------------------------------------------------------


def test_inside_the_window_free_text_goes(db, twilio, tmp_path, templates_file):
    pid = add_person(db, "+919800000001", last_inbound_at=NOW - dt.timedelta(hours=23))
    rid = queue(db, pid, "+919800000001")

    assert run(db, settings_for(twilio, tmp_path, twilio_templates=str(templates_file))).sent == 1

    [request] = twilio.messages()
    assert request.form["To"] == "whatsapp:+919800000001"
    assert request.form["Body"] == PROMPT_TEXT
    assert "ContentSid" not in request.form
    assert (row(db, rid).form, row(db, rid).channel) == ("session", "whatsapp")


def test_outside_the_window_the_template_goes_in_the_persons_language(db, twilio, tmp_path,
                                                                      templates_file):
    pid = add_person(db, "+919800000002", language="hi",
                     last_inbound_at=NOW - dt.timedelta(hours=24, minutes=1))
    rid = queue(db, pid, "+919800000002")

    run(db, settings_for(twilio, tmp_path, twilio_templates=str(templates_file)))

    [request] = twilio.messages()
    assert request.form["To"] == "whatsapp:+919800000002"
    assert request.form["From"] == "whatsapp:" + WHATSAPP_FROM
    assert request.form["ContentSid"] == PROMPT_HI
    assert request.form["ContentVariables"] == json.dumps(
        {"1": "2", "2": "5", "3": "बच्चों के लिए कहानियाँ खोजें"}, ensure_ascii=False)
    assert "Body" not in request.form
    sent = row(db, rid)
    assert (sent.status, sent.form, sent.channel) == ("sent", "template", "whatsapp")


def test_a_language_without_a_template_gets_the_english_one_all_in_english(
        db, twilio, tmp_path, templates_file):
    pid = add_person(db, "+919800000003", language="mr")  # never wrote: no window
    queue(db, pid, "+919800000003")

    run(db, settings_for(twilio, tmp_path, twilio_templates=str(templates_file)))

    [request] = twilio.messages()
    assert request.form["ContentSid"] == PROMPT_EN
    assert json.loads(request.form["ContentVariables"]) == {
        "1": "2", "2": "5", "3": "Find stories for children"}


def test_a_campaign_invitation_fills_its_template_when_sent(db, twilio, tmp_path,
                                                            templates_file):
    from tests.seed import seed_project

    seeded = seed_project(db, phone="+919800000004")
    with db.transaction() as session:
        invitation = queue_message(session, phone=seeded.phone, channel="whatsapp",
                                   key="invitation", options=("option.accept",),
                                   person_id=seeded.person_id, project_id=seeded.project_id)
        invitation.next_attempt_at = NOW

    run(db, settings_for(twilio, tmp_path, twilio_templates=str(templates_file)))

    [request] = twilio.messages()
    assert request.form["ContentSid"] == INVITE_EN
    assert json.loads(request.form["ContentVariables"]) == {
        "1": "Sunita Pawar", "2": "Retell the Tale", "3": "4"}


def test_a_one_variable_template_carries_the_whole_message_on_one_line(db, twilio, tmp_path,
                                                                      templates_file):
    pid = add_person(db, "+919800000005")
    queue(db, pid, "+919800000005", key="task.reminder",
          params={"position": 2, "title": PROMPT["title"]})

    run(db, settings_for(twilio, tmp_path, twilio_templates=str(templates_file)))

    [request] = twilio.messages()
    assert request.form["ContentSid"] == CARRIER_EN
    assert json.loads(request.form["ContentVariables"]) == {"1": (
        "A gentle reminder about task 2, “Find stories for children”. How is it going? "
        "Reply with a number: 1. Done 2. In progress 3. Need help")}


def test_outside_the_window_without_a_template_sms_goes(db, twilio, tmp_path):
    pid = add_person(db, "+919800000006", last_inbound_at=NOW - dt.timedelta(days=3))
    rid = queue(db, pid, "+919800000006")

    run(db, settings_for(twilio, tmp_path))

    [request] = twilio.messages()
    assert (request.form["To"], request.form["From"]) == ("+919800000006", SMS_FROM)
    assert request.form["Body"] == PROMPT_TEXT
    sent = row(db, rid)
    assert (sent.status, sent.form, sent.channel, sent.body) == (
        "sent", "sms", "sms", PROMPT_TEXT)


@pytest.mark.parametrize("why", ["no-sms-sender", "whatsapp-only"])
def test_outside_the_window_with_no_template_and_no_sms_nothing_goes_and_the_export_says_why(
        db, twilio, tmp_path, monkeypatch, why):
    pid = add_person(db, "+919800000007", language="hi", sms_allowed=why != "whatsapp-only")
    rid = queue(db, pid, "+919800000007", key="project.lapsed",
                params={"title": PROMPT["project_title"], "done": 1, "total": 5}, options=())
    settings = settings_for(twilio, tmp_path,
                            twilio_sms_from="" if why == "no-sms-sender" else SMS_FROM)

    counts = run(db, settings)

    assert (counts.sent, counts.not_sent) == (0, 1)
    assert twilio.requests == []
    reason = ("outside WhatsApp's 24-hour window and no approved template for project.lapsed "
              "(hi); no SMS")
    unsent = row(db, rid)
    assert (unsent.status, unsent.error_message, unsent.error_code) == ("not_sent", reason, None)
    assert unsent.status_at == NOW
    monkeypatch.setenv("DATABASE_URL", db.url)
    result = CliRunner().invoke(main, ["export", "messages", "--status", "not_sent"])
    assert result.exit_code == 0, result.output
    [exported] = list(csv.DictReader(io.StringIO(result.output)))
    assert exported["phone"] == "+919800000007"
    assert exported["school_code"] == "S000007"
    assert (exported["key"], exported["status"]) == ("project.lapsed", "not_sent")
    assert exported["error_message"] == reason


def test_an_sms_person_without_an_sms_sender_is_not_sent_with_the_reason(db, twilio, tmp_path):
    pid = add_person(db, "+919800000008", channel="sms")
    rid = queue(db, pid, "+919800000008")
    run(db, settings_for(twilio, tmp_path, twilio_sms_from=""))
    assert twilio.requests == []
    assert row(db, rid).status == "not_sent"
    assert "no SMS sender configured" in (row(db, rid).error_message or "")


def test_someone_not_in_the_roster_gets_the_reply_as_free_text(db, twilio, tmp_path):
    rid = queue(db, None, "+919800000009", key="unregistered", params={}, options=(),
                reply=True, language="en")
    run(db, settings_for(twilio, tmp_path, twilio_sms_from=""))
    [request] = twilio.messages()
    assert request.form["To"] == "whatsapp:+919800000009"
    assert row(db, rid).form == "session"


def test_the_window_is_read_when_sending_not_when_queueing(db, twilio, tmp_path,
                                                           templates_file):
    settings = settings_for(twilio, tmp_path, twilio_templates=str(templates_file))
    # Queued while the window was closed; the headmaster wrote before the worker got to it.
    closed = add_person(db, "+919800000010")
    queue(db, closed, "+919800000010", at=NOW - dt.timedelta(hours=2))
    # Queued while the window was open; it had closed by the time the worker sent.
    opened = add_person(db, "+919800000011", last_inbound_at=NOW - dt.timedelta(hours=23))
    queue(db, opened, "+919800000011", at=NOW - dt.timedelta(hours=2))
    with db.transaction() as session:
        session.execute(update(Person).where(Person.id == closed)
                        .values(last_inbound_at=NOW - dt.timedelta(minutes=5)))

    run(db, settings, NOW + dt.timedelta(hours=2))

    forms = {r.form["To"]: ("Body" in r.form, r.form.get("ContentSid"))
             for r in twilio.messages()}
    assert forms == {"whatsapp:+919800000010": (True, None),
                     "whatsapp:+919800000011": (False, PROMPT_EN)}


def test_the_console_ignores_the_window(db, tmp_path):
    pid = add_person(db, "+919800000012")
    rid = queue(db, pid, "+919800000012")
    with Worker(db, Settings(media_dir=tmp_path / "media")) as worker:
        assert isinstance(worker.channel, ConsoleChannel)
        assert worker.run_once(NOW).sent == 1
    assert (row(db, rid).form, row(db, rid).body) == ("console", PROMPT_TEXT)


# --- error 63016: WhatsApp refused the free text ----------------------------------------------


@pytest.fixture
def app(db, twilio, tmp_path):
    app = create_app({"database_url": db.url, "twilio_account_sid": twilio.account_sid,
                      "twilio_auth_token": twilio.auth_token, "public_url": PUBLIC,
                      "media_dir": tmp_path / "media", "TESTING": True})
    yield app
    app.extensions["kadam.db"].dispose()


def callback(app, twilio, sent_request, status: str, code: str = "") -> int:
    """Posts Twilio's status callback, signed, to the URL the message was sent with."""
    url = sent_request.form["StatusCallback"]
    with app.extensions["kadam.db"].sessions() as session:
        sid = session.scalar(select(Outbox.provider_sid)
                             .where(Outbox.id == int(url.rsplit("=", 1)[1])))
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": twilio.account_sid}
    if code:
        form["ErrorCode"] = code
    signature = RequestValidator(twilio.auth_token).compute_signature(url, form)
    response = app.test_client().post(url.removeprefix(PUBLIC), data=form,
                                      headers={"X-Twilio-Signature": signature})
    return response.status_code


def later() -> dt.datetime:
    """The webhook stamps the copy with the real clock; the worker runs just after it."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


NO_QUIET = QuietHours.parse("off")


@pytest.fixture
def daytime() -> dt.datetime:
    """Now; the worker these tests run has quiet hours off (NO_QUIET), for they follow the
    real clock through the webhook."""
    return dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("fallback", ["template", "sms"])
def test_a_63016_callback_sends_one_copy_by_template_or_sms(db, twilio, tmp_path, app, daytime,
                                                            templates_file, fallback):
    # Our clock says the window is open; WhatsApp says it is not.
    pid = add_person(db, "+919800000013", last_inbound_at=daytime - dt.timedelta(hours=1))
    original = queue(db, pid, "+919800000013", at=daytime)
    settings = settings_for(twilio, tmp_path, twilio_templates=str(
        templates_file if fallback == "template" else ""), quiet_hours=NO_QUIET)
    run(db, settings, daytime)
    [first] = twilio.messages()
    assert first.form["Body"] == PROMPT_TEXT

    assert callback(app, twilio, first, "failed", "63016") == 200
    assert callback(app, twilio, first, "failed", "63016") == 200  # Twilio repeats itself
    assert callback(app, twilio, first, "undelivered", "63016") == 200

    assert run(db, settings, later()).sent == 1
    assert run(db, settings, later() + dt.timedelta(minutes=5)).total == 0
    [_, second] = twilio.messages()
    if fallback == "template":
        assert second.form["To"] == "whatsapp:+919800000013"
        assert second.form["ContentSid"] == PROMPT_EN
        assert "Body" not in second.form
    else:
        assert (second.form["To"], second.form["From"]) == ("+919800000013", SMS_FROM)
        assert second.form["Body"] == PROMPT_TEXT
    with db.sessions() as session:
        rows = session.scalars(select(Outbox).where(Outbox.person_id == pid)
                               .order_by(Outbox.id)).all()
    assert [(r.status, r.error_code, r.fallback_of) for r in rows] == [
        ("failed", 63016, None), ("sent", None, original)]
    assert rows[1].form == fallback
    assert (rows[1].key, rows[1].params, rows[1].options) == ("task.prompt", PROMPT,
                                                              list(OPTIONS))


def test_a_63016_copy_with_no_template_and_no_sms_is_recorded_as_not_sent(db, twilio,
                                                                          tmp_path, app, daytime):
    pid = add_person(db, "+919800000014", last_inbound_at=daytime - dt.timedelta(hours=1))
    queue(db, pid, "+919800000014", at=daytime)
    settings = settings_for(twilio, tmp_path, twilio_sms_from="", quiet_hours=NO_QUIET)
    run(db, settings, daytime)
    [first] = twilio.messages()
    callback(app, twilio, first, "undelivered", "63016")

    assert run(db, settings, later()).not_sent == 1

    assert len(twilio.messages()) == 1
    with db.sessions() as session:
        copy = session.scalars(select(Outbox).where(Outbox.fallback_of.is_not(None))).one()
    assert copy.status == "not_sent"
    assert "no approved template for task.prompt (en)" in (copy.error_message or "")


def test_other_failures_and_template_messages_get_no_copy(db, twilio, tmp_path, app,
                                                          templates_file):
    inside = add_person(db, "+919800000015", last_inbound_at=NOW - dt.timedelta(hours=1))
    outside = add_person(db, "+919800000016")
    queue(db, inside, "+919800000015")
    queue(db, outside, "+919800000016")
    run(db, settings_for(twilio, tmp_path, twilio_templates=str(templates_file)))
    session_message, template_message = sorted(twilio.messages(), key=lambda r: r.form["To"])
    assert "ContentSid" in template_message.form

    callback(app, twilio, session_message, "failed", "30003")  # unreachable handset
    callback(app, twilio, template_message, "failed", "63016")

    with db.sessions() as session:
        assert session.scalars(select(Outbox).where(Outbox.fallback_of.is_not(None))).all() == []


# --- quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(("timezone", "evening", "morning"), [
    # 22:00 local, and 08:00 local the next day, in UTC.
    ("Asia/Kolkata", dt.datetime(2026, 7, 1, 16, 30, tzinfo=dt.UTC),
     dt.datetime(2026, 7, 2, 2, 30, tzinfo=dt.UTC)),
    ("Africa/Kigali", dt.datetime(2026, 7, 1, 20, 0, tzinfo=dt.UTC),
     dt.datetime(2026, 7, 2, 6, 0, tzinfo=dt.UTC)),
])
def test_a_scheduled_message_due_at_night_waits_for_the_morning(db, twilio, tmp_path, timezone,
                                                                evening, morning):
    pid = add_person(db, "+919800000017", last_inbound_at=evening - dt.timedelta(hours=1),
                     timezone=timezone)
    rid = queue(db, pid, "+919800000017", at=evening)
    settings = settings_for(twilio, tmp_path)

    counts = run(db, settings, evening)

    assert (counts.held, counts.sent) == (1, 0)
    held = row(db, rid)
    assert (held.status, held.next_attempt_at, held.attempts) == ("queued", morning, 0)
    assert run(db, settings, morning - dt.timedelta(minutes=1)).total == 0
    assert twilio.requests == []
    assert run(db, settings, morning).sent == 1
    assert (row(db, rid).status, row(db, rid).attempts) == ("sent", 1)


def test_a_reply_at_night_goes_at_once_and_is_not_held_up_by_a_scheduled_one(db, twilio,
                                                                            tmp_path):
    evening = dt.datetime(2026, 7, 1, 16, 30, tzinfo=dt.UTC)  # 22:00 in Kolkata
    pid = add_person(db, "+919800000018", last_inbound_at=evening)
    scheduled = queue(db, pid, "+919800000018", at=evening - dt.timedelta(minutes=1))
    reply = queue(db, pid, "+919800000018", key="evidence.fetch_failed", params={"position": 4},
                  options=(), at=evening, reply=True)

    counts = run(db, settings_for(twilio, tmp_path), evening)

    assert (counts.sent, counts.held) == (1, 1)
    [request] = twilio.messages()
    assert request.form["Body"] == ("Sorry, I could not receive your file for task 4. "
                                    "Please send it again.")
    assert (row(db, reply).status, row(db, scheduled).status) == ("sent", "queued")


def test_quiet_hours_follow_kadam_quiet_hours(db, twilio, tmp_path):
    evening = dt.datetime(2026, 7, 1, 16, 30, tzinfo=dt.UTC)  # 22:00 in Kolkata
    pid = add_person(db, "+919800000019", last_inbound_at=evening)
    queue(db, pid, "+919800000019", at=evening)
    quiet = Settings.from_env({"KADAM_QUIET_HOURS": "off"}).quiet_hours
    assert run(db, settings_for(twilio, tmp_path, quiet_hours=quiet), evening).sent == 1


def test_a_school_without_a_zone_uses_kadam_timezone(db, twilio, tmp_path, monkeypatch):
    at = dt.datetime(2026, 7, 1, 19, 0, tzinfo=dt.UTC)  # 00:30 in Kolkata, 21:00 in Kigali
    pid = add_person(db, "+919800000020", last_inbound_at=at)
    rid = queue(db, pid, "+919800000020", at=at)
    counts = run(db, settings_for(twilio, tmp_path, timezone="Africa/Kigali"), at)
    assert counts.held == 1
    assert row(db, rid).next_attempt_at == dt.datetime(2026, 7, 2, 6, 0, tzinfo=dt.UTC)


# --- the form, decided in one place -----------------------------------------------------------


def claimed(**changes: Any) -> ClaimedMessage:
    values: dict[str, Any] = dict(
        id=1, person_id=7, phone="+919800000001", channel="whatsapp", key="task.prompt",
        attempts=1, language="hi", second_language=None, opted_out=False,
        last_inbound_at=None, sms_allowed=True)
    values.update(changes)
    return ClaimedMessage(**values)


MAP = TemplateMap.from_document(
    {"task.prompt": {"hi": {"content_sid": PROMPT_HI, "variables": ["title"]}}})
RECENT = NOW - dt.timedelta(hours=23, minutes=59)
LONG_AGO = NOW - dt.timedelta(hours=24)


@pytest.mark.parametrize(("changes", "templates", "sms_from", "form"), [
    ({"last_inbound_at": RECENT}, MAP, SMS_FROM, "session"),
    ({"last_inbound_at": LONG_AGO}, MAP, SMS_FROM, "template"),
    ({"last_inbound_at": RECENT, "fallback_of": 3}, MAP, SMS_FROM, "template"),
    ({"last_inbound_at": LONG_AGO}, TemplateMap(), SMS_FROM, "sms"),
    ({"last_inbound_at": RECENT, "fallback_of": 3}, TemplateMap(), SMS_FROM, "sms"),
    ({"language": "mr"}, MAP, SMS_FROM, "sms"),  # hi's template is not for mr
    ({"sms_allowed": False}, TemplateMap(), SMS_FROM, "not_sent"),
    ({}, TemplateMap(), "", "not_sent"),
    ({"channel": "sms", "last_inbound_at": RECENT}, MAP, SMS_FROM, "sms"),
    ({"channel": "sms"}, MAP, "", "not_sent"),
    ({"person_id": None}, TemplateMap(), "", "session"),
    ({"person_id": None, "fallback_of": 3}, TemplateMap(), SMS_FROM, "sms"),
], ids=["inside", "outside-template", "fallback-template", "outside-sms", "fallback-sms",
        "other-language", "whatsapp-only", "no-sms-sender", "sms-person", "sms-no-sender",
        "not-in-roster", "not-in-roster-fallback"])
def test_choose_form(changes, templates, sms_from, form):
    route = choose_form(claimed(**changes), NOW, templates, sms_from, WHATSAPP_FROM)
    assert route.form == form
    assert (route.template is not None) == (form == "template")
    assert (route.reason is not None) == (form == "not_sent")


@pytest.mark.parametrize(("sms_allowed", "sms_from", "form"), [
    (True, SMS_FROM, "sms"), (False, SMS_FROM, "not_sent"), (True, "", "not_sent")])
def test_a_deployment_without_a_whatsapp_sender_uses_sms(sms_allowed, sms_from, form):
    message = claimed(last_inbound_at=RECENT, sms_allowed=sms_allowed)
    route = choose_form(message, NOW, MAP, sms_from, "")
    assert route.form == form
    if form == "not_sent":
        assert route.reason == "no WhatsApp sender configured (TWILIO_WHATSAPP_FROM)"


# --- TWILIO_TEMPLATES -------------------------------------------------------------------------


def test_templates_load_from_json_too(tmp_path):
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({"invitation": {"hi": {"content_sid": INVITE_EN,
                                                      "variables": ["name", "title"]}}}))
    template = load(path).find("invitation", "hi")
    assert template is not None
    assert template.content_variables({"name": "Sunita", "title": {"hi": "कहानी"}}, "") == (
        '{"1": "Sunita", "2": "कहानी"}')


@pytest.mark.parametrize(("text", "problem"), [
    ("task.prompt:\n  en: {variables: [title]}\n", "task.prompt.en: missing content_sid"),
    ("task.prompt:\n  en: HX123\n", "task.prompt.en: expected {content_sid"),
    ("task.prompt: [en, hi]\n", "task.prompt: expected languages"),
    ("task.prompt:\n  en: {content_sid: SM123, variables: []}\n",
     "task.prompt.en.content_sid: expected HX and 32 hex digits"),
    (f"task.prompt:\n  en: {{content_sid: {PROMPT_EN}, variables: [titel]}}\n",
     "task.prompt.en.variables: 'titel' is not a parameter of task.prompt"),
    (f"task.prompt:\n  en: {{content_sid: {PROMPT_EN}, vars: [title]}}\n",
     "task.prompt.en: unknown field(s) vars"),
    (f"task.promt:\n  en: {{content_sid: {PROMPT_EN}}}\n", "task.promt: not a message key"),
    ("- task.prompt\n", "expected a mapping of message keys"),
])
def test_a_bad_templates_file_names_the_bad_entry(tmp_path, text, problem):
    path = tmp_path / "templates.yaml"
    path.write_text(text)
    with pytest.raises(TemplateMapError) as error:
        load(path)
    assert problem in str(error.value)
    assert str(path) in str(error.value)


def test_a_missing_templates_file_stops_the_worker_at_startup(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", "k" * 64)  # on PostgreSQL the worker needs one to start
    monkeypatch.setenv("TWILIO_TEMPLATES", str(tmp_path / "nowhere.yaml"))
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code != 0
    assert "TWILIO_TEMPLATES names" in result.output
    assert "nowhere.yaml" in result.output


def test_quiet_hours_default_to_eight_at_night_until_eight_in_the_morning():
    quiet = Settings.from_env({}).quiet_hours
    assert quiet.is_quiet(dt.time(20, 0)) and quiet.is_quiet(dt.time(7, 59))
    assert not quiet.is_quiet(dt.time(8, 0)) and not quiet.is_quiet(dt.time(19, 59))


def test_the_copy_keeps_what_it_answers_and_a_callback_before_the_record_still_makes_one(db):
    pid = add_person(db, "+919800000021", last_inbound_at=NOW)
    original = queue(db, pid, "+919800000021", reply=True)
    with db.transaction() as session:
        session.execute(update(Outbox).where(Outbox.id == original)
                        .values(status="sending"))
        # Twilio's callback arrives before the worker has recorded the sid or the form.
        outbox.apply_status_callback(session, "SM" + "f" * 32, "failed", 63016, now=NOW,
                                     outbox_id=original)
    with db.transaction() as session:
        outbox.mark_sent(session, original, "SM" + "f" * 32, "session", PROMPT_TEXT,
                         "whatsapp", now=NOW)
        outbox.apply_status_callback(session, "SM" + "f" * 32, "failed", 63016, now=NOW)
    with db.sessions() as session:
        first, copy = session.scalars(select(Outbox).where(Outbox.person_id == pid)
                                      .order_by(Outbox.id)).all()
    assert (first.status, first.error_code, first.form) == ("failed", 63016, "session")
    assert (copy.fallback_of, copy.in_reply_to, copy.status, copy.attempts) == (
        first.id, first.in_reply_to, "queued", 0)
    assert copy.in_reply_to is not None
    assert (copy.next_attempt_at, copy.phone, copy.key) == (NOW, first.phone, first.key)
