"""The simulator: chat as a roster person through the same engine as the webhooks.

It shows every name and phone in the roster and speaks for anyone, so it is on only when asked
for (the demo, KADAM_SIMULATOR=1), and then only for a state user signed in to the dashboard,
with CSRF on every message sent.
"""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bot import create_app
from bot.engine.engine import Engine
from flows.events import Invitation
from storage.models import Evidence, InboundMessage, Project, TaskEvent
from tests.admin_support import PASSWORD, csrf, make_user, sign_in
from tests.browser import browser_page, live_server
from tests.clock import wall_now
from tests.seed import seed_project

# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105a0f3b10000000049454e44ae426082"
)
STATE_USER = "state@example.org"


@pytest.fixture
def app(db, tmp_path, monkeypatch):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    app = create_app({"database_url": db.url, "media_dir": tmp_path / "media",
                      "twilio_account_sid": "", "twilio_auth_token": "",
                      "secret_key": "test-secret", "simulator": True})
    make_user(db, STATE_USER)
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def client(app):
    """A state user's browser, signed in to the dashboard."""
    client = app.test_client()
    assert sign_in(client, STATE_USER).status_code == 302
    return client


class Chat:
    """Posts what a trainer types into the simulator, with the session's CSRF token."""

    def __init__(self, client):
        self.client = client

    def send(self, phone: str, text: str, photo: bytes | None = None):
        data = {"phone": phone, "text": text, "csrf_token": csrf(self.client)}
        if photo is None:
            return self.client.post("/simulator/send", data=data)
        data["photo"] = (io.BytesIO(photo), "wall.png", "image/png")
        return self.client.post("/simulator/send", data=data, content_type="multipart/form-data")


@pytest.fixture
def chat(client):
    return Chat(client)


@pytest.fixture
def invited(db, app):
    """Sunita, invited just now. The simulator's engine stamps each message she sends with
    the real time, so her project starts, and her invitation goes, by the real clock too; no
    test here expects anything that depends on the date or the hour."""
    now = wall_now()
    seeded = seed_project(db, now=now)
    Engine(db, app.config["KADAM"]).trigger(seeded.person_id, Invitation(seeded.project_id),
                                            now=now)
    return seeded


def conversation(page) -> list[tuple[str, str, list[str]]]:  # type: ignore[no-untyped-def]
    """The conversation as the page shows it, top to bottom: who wrote each message ("me",
    the headmaster, or "bot"), its text, and the buttons under it."""
    return [("me" if "me" in (bubble.get_attribute("class") or "").split() else "bot",
             bubble.locator(".text").inner_text(),
             bubble.locator(".buttons button").all_inner_texts())
            for bubble in page.locator(".bubble").all()]


INVITATION = ("bot", "Namaste Sunita Pawar! Your school is invited to the project “Retell the "
              "Tale”. Every child retells a story. It takes about 4 weeks. Tasks: 4. Shall we "
              "start?", ["Yes, let's start", "Not now", "Tell me more"])
HOW_IS_IT_GOING = ["Done", "In progress", "Need help"]
STARTED = [
    ("bot", "Wonderful! “Retell the Tale” has started. I will send you one task at a time. "
            "Reply MENU at any time to see what you can do.", []),
    ("bot", "Task 1 of 4: Brief your teachers\nHow is it going? Reply with a number:",
     HOW_IS_IT_GOING),
]
TASK_1_DONE = [
    ("bot", "Well done! Task 1, “Brief your teachers”, is marked done (1 of 4). Wrong? Reply 0 "
            "to undo.", []),
    ("bot", "Task 2 of 4: Talk about the parents' role\nHow is it going? Reply with a number:",
     HOW_IS_IT_GOING),
]


def test_page_lists_the_roster_and_shows_the_invitation(client, invited):
    page = client.get(f"/simulator/?phone={invited.phone}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sunita Pawar" in html
    assert "Retell the Tale" in html
    assert "Yes, let&#39;s start" in html  # a WhatsApp button...
    assert "1. Yes, let&#39;s start" in html  # ...and the numbered SMS form


def test_chatting_goes_through_the_engine(client, chat, db, invited):
    chat.send(invited.phone, "1")
    chat.send(invited.phone, "ho gaya")
    html = client.get(f"/simulator/?phone={invited.phone}").get_data(as_text=True)
    assert "Task 2 of 4" in html
    with db.sessions() as session:
        assert session.get(Project, invited.project_id).status == "in_progress"
        assert len(session.scalars(select(InboundMessage)).all()) == 2


def test_photo_upload_is_stored_as_evidence(chat, db, invited, tmp_path):
    chat.send(invited.phone, "yes")
    chat.send(invited.phone, "3", photo=PNG)
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    assert evidence.status == "stored"
    assert evidence.size == len(PNG)
    assert (tmp_path / "media" / evidence.path).read_bytes() == PNG


def _count_inbound(db) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage))


def test_simulator_is_off_unless_asked_for(db, monkeypatch):
    """A staging server with a real roster and no Twilio account must not expose it."""
    monkeypatch.delenv("KADAM_SIMULATOR", raising=False)
    for config in ({"twilio_account_sid": "", "twilio_auth_token": ""},
                   {"twilio_account_sid": "AC1", "twilio_auth_token": "token"}):
        app = create_app({"database_url": db.url, "secret_key": "test-secret", **config})
        assert app.test_client().get("/simulator/").status_code == 404
        assert app.test_client().post("/simulator/send", data={"phone": "+919822012345",
                                                              "text": "1"}).status_code == 404
        app.extensions["kadam.db"].dispose()
    assert _count_inbound(db) == 0


def test_kadam_simulator_turns_it_on_behind_the_sign_in(db, monkeypatch, invited):
    monkeypatch.setenv("KADAM_SIMULATOR", "1")
    app = create_app({"database_url": db.url, "secret_key": "test-secret",
                      "twilio_account_sid": "AC1", "twilio_auth_token": "token"})
    make_user(db, STATE_USER)
    client = app.test_client()
    page = client.get(f"/simulator/?phone={quote(invited.phone)}")
    assert page.status_code == 302
    assert "/admin/login" in page.location and "Sunita" not in page.get_data(as_text=True)
    app.extensions["kadam.db"].dispose()


def test_signing_in_leads_back_to_the_simulator(app, invited):
    client = app.test_client()
    wanted = f"/simulator/?phone={quote(invited.phone)}"
    to_login = client.get(wanted)
    assert to_login.status_code == 302
    login_page = client.get(to_login.location)
    assert "Sunita Pawar" not in login_page.get_data(as_text=True)
    from tests.admin_support import csrf_of

    token = csrf_of(login_page.get_data(as_text=True))
    signed_in = client.post(to_login.location, data={"email": STATE_USER, "password": PASSWORD,
                                                     "csrf_token": token})
    assert signed_in.status_code == 302 and signed_in.location == wanted
    html = client.get(signed_in.location).get_data(as_text=True)
    assert "Sunita Pawar" in html and "Chatting as" in html
    assert client.get(wanted).headers["Cache-Control"] == "private, no-store"


def test_nobody_signed_in_cannot_speak_for_a_headmaster(app, db, invited):
    response = app.test_client().post("/simulator/send",
                                      data={"phone": invited.phone, "text": "ho gaya"})
    assert response.status_code == 302 and "/admin/login" in response.location
    assert _count_inbound(db) == 0


def test_a_message_without_the_csrf_token_is_refused(client, db, invited):
    """A page elsewhere cannot make a signed-in trainer's browser speak for a headmaster."""
    for token in (None, "forged"):
        data = {"phone": invited.phone, "text": "1"}
        if token:
            data["csrf_token"] = token
        assert client.post("/simulator/send", data=data).status_code == 400
    assert _count_inbound(db) == 0


def test_district_and_block_users_are_kept_out(app, db, invited):
    """The simulator lists the whole roster and speaks for anyone: the state team only."""
    make_user(db, "deo.satara@example.org", "district", "Satara")
    client = app.test_client()
    assert sign_in(client, "deo.satara@example.org").status_code == 302
    page = client.get(f"/simulator/?phone={quote(invited.phone)}")
    assert page.status_code == 403 and "Sunita" not in page.get_data(as_text=True)
    assert client.post("/simulator/send", data={"phone": invited.phone, "text": "1",
                                                "csrf_token": csrf(client)}).status_code == 403
    assert _count_inbound(db) == 0


def sign_in_through_the_browser(page, base: str, wanted: str) -> None:  # type: ignore[no-untyped-def]
    """Opens `wanted`, signs in on the dashboard's page it is sent to, and is sent back."""
    page.goto(base + wanted)
    page.get_by_label("Email").fill(STATE_USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/simulator/**")


def test_a_headmaster_chats_in_a_real_browser(app, invited, tmp_path):
    photo = tmp_path / "story-wall.png"
    photo.write_bytes(PNG)
    with live_server(app) as base, browser_page() as page:

        def bot_says(text: str) -> None:
            page.locator(".bubble.bot", has_text=text).last.wait_for()

        sign_in_through_the_browser(page, base, "/simulator/")
        page.get_by_role("link", name="Sunita Pawar").click()
        bot_says("invited to the project")
        page.get_by_role("button", name="Yes, let's start").click()
        bot_says("Task 1 of 4")
        page.get_by_label("Message").fill("ho gaya")
        page.get_by_role("button", name="Send").click()
        bot_says("Task 2 of 4")
        page.get_by_label("Message").fill("3")
        page.get_by_label("Attach a photo").set_input_files(str(photo))
        page.get_by_role("button", name="Send").click()
        bot_says("1 file saved for task 3")
        page.screenshot(path=str(tmp_path / "simulator.png"), full_page=True)
        # Everything Sunita sees, in order: her button press is sent as its number.
        assert conversation(page) == [
            INVITATION, ("me", "1", []), *STARTED,
            ("me", "ho gaya", []), *TASK_1_DONE,
            ("me", "3", []),
            ("bot", "Thank you! 1 file saved for task 3, “Find stories for children”.", []),
            ("bot", "Is task 3 done? Reply with a number:", HOW_IS_IT_GOING),
        ]
        # The photo shows as a picture in her bubble, as WhatsApp shows it, and it loads.
        thumbnail = page.locator(".bubble.me").last.locator("a.photo img")
        assert thumbnail.count() == 1
        assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_digest_photo_link_opens_that_photo_only(app, chat, db, invited):
    from storage.digests import evidence_link

    chat.send(invited.phone, "yes")
    chat.send(invited.phone, "3", photo=PNG)
    client = app.test_client()  # an officer's phone: the link needs no sign-in
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    expires = wall_now() + dt.timedelta(days=30)  # the link is checked against the real clock
    link = evidence_link("", app.config["SECRET_KEY"], evidence.id, expires)
    with client.get(link) as response:
        assert response.status_code == 200 and response.data == PNG
        assert response.mimetype == "image/png"
    assert client.get(link[:-1] + "x").status_code == 404
    assert client.get(f"/evidence/{evidence.id + 1}/{link.rsplit('/', 1)[1]}").status_code == 404


def test_a_headmaster_undoes_a_mistaken_done_in_a_real_browser(app, db, invited, tmp_path):
    """What the headmaster reads: the change said back in words, "0" taking it back, and the
    task asked about again; an "ok" asked about rather than taken as done."""
    with live_server(app) as base, browser_page() as page:

        def bot_says(text: str) -> None:
            page.locator(".bubble.bot", has_text=text).last.wait_for()

        def send(text: str) -> None:
            page.get_by_label("Message").fill(text)
            page.get_by_role("button", name="Send").click()

        sign_in_through_the_browser(page, base, f"/simulator/?phone={quote(invited.phone)}")
        page.get_by_role("button", name="Yes, let's start").click()
        bot_says("Task 1 of 4")
        send("theek hai")
        bot_says("Is task 1, “Brief your teachers”, done? Reply with a number:")
        send("galti se done likh diya")
        bot_says("There is nothing to undo")
        send("ho gaya")
        bot_says("Task 1, “Brief your teachers”, is marked done (1 of 4). Wrong? Reply 0 to undo.")
        send("0")
        bot_says("Undone: task 1, “Brief your teachers”, is back to “not started”.")
        page.screenshot(path=str(tmp_path / "undo.png"), full_page=True)
        assert conversation(page) == [
            INVITATION, ("me", "1", []), *STARTED,
            ("me", "theek hai", []),
            ("bot", "Is task 1, “Brief your teachers”, done? Reply with a number:",
             ["Done", "In progress"]),
            ("me", "galti se done likh diya", []),
            ("bot", "There is nothing to undo: I have recorded no change from you in the last "
                    "24 hours.", []),
            ("me", "ho gaya", []), *TASK_1_DONE,
            ("me", "0", []),
            ("bot", "Undone: task 1, “Brief your teachers”, is back to “not started”. How is it "
                    "going? Reply with a number:", HOW_IS_IT_GOING),
        ]

    with db.sessions() as session:
        project = session.get(Project, invited.project_id)
        assert [t.status for t in sorted(project.tasks, key=lambda t: t.position)] == [
            "not_started"] * 4
        events = session.scalars(select(TaskEvent).where(TaskEvent.task_id == project.tasks[0].id)
                                 .order_by(TaskEvent.id)).all()
        assert [(e.status, e.note) for e in events][-2:] == [("completed", None),
                                                             ("not_started", "undone")]
