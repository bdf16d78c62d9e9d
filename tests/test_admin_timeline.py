"""A project's timeline reads as the conversation did: the words sent, in the order things
happened, in the headmaster's language with the English beside it."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bot.engine.engine import Engine, Inbound
from flows.events import Invitation
from tests.admin_support import PASSWORD, make_app, make_user
from tests.browser import browser_page, live_server
from tests.clock import NOW, Ticking
from tests.seed import seed_project

_sid = itertools.count(1)


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media", ADMIN_NOW=NOW + dt.timedelta(minutes=5))
    yield app
    app.extensions["kadam.db"].dispose()


def hindi_project(db, app) -> int:
    """A Hindi headmaster accepts, marks task 1 done by mistake and takes it back."""
    clock = Ticking()  # NOW, then a minute later for each message
    seeded = seed_project(db, language="hi", now=clock())
    engine = Engine(db, app.config["KADAM"])
    engine.trigger(seeded.person_id, Invitation(seeded.project_id), now=clock())
    for text in ("1", "ho gaya", "0"):
        engine.receive(Inbound(sid=f"SM{next(_sid):032d}", phone=seeded.phone,
                               channel="whatsapp", body=text), now=clock())
    return seeded.project_id


def test_the_timeline_shows_the_words_sent_in_causal_order(app, db):
    project_id = hindi_project(db, app)
    make_user(db, "state@example.org")
    client = app.test_client()
    from tests.admin_support import sign_in
    sign_in(client, "state@example.org")
    html = client.get(f"/admin/projects/{project_id}").get_data(as_text=True)
    # What Anita read, in Hindi, with the English for a state user who does not read it.
    assert "वापस ले लिया: काम 1" in html
    assert "Undone: task 1, “Brief your teachers”, is back to “not started”." in html
    assert "<code>undo.done</code>" not in html
    # Each reply after the message that caused it.
    assert html.index(">ho gaya<") < html.index("पूरा दर्ज किया गया")
    assert html.index("पूरा दर्ज किया गया") < html.index(">0<")
    assert html.index(">0<") < html.index("वापस ले लिया")


def test_a_state_user_reads_the_conversation_in_a_real_browser(app, db, tmp_path):
    project_id = hindi_project(db, app)
    make_user(db, "state@example.org")
    with live_server(app) as base, browser_page() as page:
        page.goto(f"{base}/admin/")
        page.get_by_label("Email").fill("state@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Campaigns").wait_for()
        page.goto(f"{base}/admin/projects/{project_id}")
        undone = page.locator("li.event-out", has_text="वापस ले लिया").last
        undone.wait_for()
        assert "काम 1" in undone.inner_text()
        undone.get_by_text("In English").click()
        assert undone.get_by_text("Undone: task 1").is_visible()
        # Every time on the page is in one zone, and the page says which.
        assert page.get_by_text("Times on this page are in India Standard Time "
                                "(Asia/Kolkata).").is_visible()
        page.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)
