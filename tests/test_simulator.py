"""The simulator: chat as a roster person through the same engine as the webhooks."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from bot import create_app
from bot.engine import Engine
from flows.events import Invitation
from storage.models import Evidence, InboundMessage, Project, TaskEvent
from tests.browser import browser_page, live_server
from tests.seed import seed_project

# The smallest valid PNG: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105a0f3b10000000049454e44ae426082"
)


@pytest.fixture
def app(db, tmp_path, monkeypatch):
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    app = create_app({"database_url": db.url, "media_dir": tmp_path / "media",
                      "twilio_account_sid": "", "twilio_auth_token": ""})
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def invited(db, app):
    seeded = seed_project(db)
    Engine(db, app.config["KADAM"]).trigger(seeded.person_id, Invitation(seeded.project_id))
    return seeded


def test_page_lists_the_roster_and_shows_the_invitation(app, invited):
    page = app.test_client().get(f"/simulator/?phone={invited.phone}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sunita Pawar" in html
    assert "Retell the Tale" in html
    assert "Yes, let&#39;s start" in html  # a WhatsApp button...
    assert "1. Yes, let&#39;s start" in html  # ...and the numbered SMS form


def test_chatting_goes_through_the_engine(app, db, invited):
    client = app.test_client()
    client.post("/simulator/send", data={"phone": invited.phone, "text": "1"})
    client.post("/simulator/send", data={"phone": invited.phone, "text": "ho gaya"})
    html = client.get(f"/simulator/?phone={invited.phone}").get_data(as_text=True)
    assert "Task 2 of 4" in html
    with db.sessions() as session:
        assert session.get(Project, invited.project_id).status == "in_progress"
        assert len(session.scalars(select(InboundMessage)).all()) == 2


def test_photo_upload_is_stored_as_evidence(app, db, invited, tmp_path):
    client = app.test_client()
    client.post("/simulator/send", data={"phone": invited.phone, "text": "yes"})
    client.post("/simulator/send", data={"phone": invited.phone, "text": "3",
                                         "photo": (io.BytesIO(PNG), "wall.png", "image/png")},
                content_type="multipart/form-data")
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    assert evidence.status == "stored"
    assert evidence.size == len(PNG)
    assert (tmp_path / "media" / evidence.path).read_bytes() == PNG


def test_simulator_is_off_when_twilio_is_configured(db, monkeypatch):
    monkeypatch.delenv("KADAM_SIMULATOR", raising=False)
    app = create_app({"database_url": db.url, "twilio_account_sid": "AC1",
                      "twilio_auth_token": "token"})
    assert app.test_client().get("/simulator/").status_code == 404
    app.extensions["kadam.db"].dispose()


def test_a_headmaster_chats_in_a_real_browser(app, invited, tmp_path):
    photo = tmp_path / "story-wall.png"
    photo.write_bytes(PNG)
    with live_server(app) as base, browser_page() as page:

        def bot_says(text: str) -> None:
            page.locator(".bubble.bot", has_text=text).last.wait_for()

        page.goto(f"{base}/simulator/")
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


def test_a_digest_photo_link_opens_that_photo_only(app, db, invited):
    from storage.digests import evidence_link

    client = app.test_client()
    client.post("/simulator/send", data={"phone": invited.phone, "text": "yes"})
    client.post("/simulator/send", data={"phone": invited.phone, "text": "3",
                                         "photo": (io.BytesIO(PNG), "wall.png", "image/png")},
                content_type="multipart/form-data")
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
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

        page.goto(f"{base}/simulator/?phone={invited.phone}")
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

    with db.sessions() as session:
        project = session.get(Project, invited.project_id)
        assert [t.status for t in sorted(project.tasks, key=lambda t: t.position)] == [
            "not_started"] * 4
        events = session.scalars(select(TaskEvent).where(TaskEvent.task_id == project.tasks[0].id)
                                 .order_by(TaskEvent.id)).all()
        assert [(e.status, e.note) for e in events][-2:] == [("completed", None),
                                                             ("not_started", "undone")]
