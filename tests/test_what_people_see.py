"""What people see reads right: the simulator's times in the school's zone (said once a page),
a queued message saying why it waits (in the simulator and on the dashboard's delivery page,
from one function in storage/), and a photo sent shown as a thumbnail."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from bot import create_app
from bot.engine.engine import Engine
from flows.events import Invitation
from storage.delivery import Waiting, why_waiting
from storage.models import Evidence, Outbox, Person, School
from storage.schedule import QuietHours
from tests.admin_support import PASSWORD, make_user, sign_in
from tests.browser import browser_page, live_server
from tests.seed import seed_project
from tests.test_simulator import PNG, STATE_USER, Chat

QUIET = QuietHours()  # 20:00 to 08:00
KOLKATA = "Asia/Kolkata"


@pytest.fixture(autouse=True)
def _default_quiet_hours(monkeypatch):
    monkeypatch.delenv("KADAM_QUIET_HOURS", raising=False)
    monkeypatch.delenv("KADAM_TIMEZONE", raising=False)


@pytest.fixture
def app(db, tmp_path):
    app = create_app({"database_url": db.url, "media_dir": tmp_path / "media",
                      "twilio_account_sid": "", "twilio_auth_token": "",
                      "secret_key": "test-secret", "simulator": True})
    make_user(db, STATE_USER)
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def client(app):
    client = app.test_client()
    assert sign_in(client, STATE_USER).status_code == 302
    return client


@pytest.fixture
def invited(db, app):
    seeded = seed_project(db)
    Engine(db, app.config["KADAM"]).trigger(seeded.person_id, Invitation(seeded.project_id))
    return seeded


def next_morning(now: dt.datetime, timezone: str = KOLKATA) -> dt.datetime:
    """08:00 tomorrow at the school, in UTC: where a message held for the night is due."""
    from storage.schedule import at_local, local_date

    return at_local(local_date(now, timezone) + dt.timedelta(days=1), dt.time(8, 0), timezone)


# --- why a message waits: one function, from the row -----------------------------------------

def row(**values) -> Outbox:
    defaults = {"status": "queued", "attempts": 0, "error_code": None, "error_message": None,
                "fallback_of": None, "next_attempt_at": None}
    return Outbox(**{**defaults, **values})


def test_why_a_message_waits_is_read_from_its_row():
    now = dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC)  # 21:30 in Kolkata: quiet hours
    morning = next_morning(now)
    assert morning == dt.datetime(2026, 7, 2, 2, 30, tzinfo=dt.UTC)
    held = why_waiting(row(next_attempt_at=morning), now, QUIET, KOLKATA)
    assert held == Waiting("quiet_hours", morning)
    assert held.words(KOLKATA) == "quiet hours until 08:00"
    # The page says its times in its own zone: a Kigali school's morning on an Indian page.
    kigali = next_morning(now, "Africa/Kigali")
    assert why_waiting(row(next_attempt_at=kigali), now, QUIET, "Africa/Kigali").words(
        "Africa/Kigali") == "quiet hours until 08:00"
    retry = why_waiting(row(attempts=2, error_code=20429, error_message="Too many requests",
                            next_attempt_at=now + dt.timedelta(minutes=2)), now, QUIET, KOLKATA)
    assert retry is not None and retry.kind == "retrying"
    assert retry.words(KOLKATA).startswith("retrying: provider busy")
    window = why_waiting(row(fallback_of=7, next_attempt_at=now), now, QUIET, KOLKATA)
    assert window is not None and "24-hour window" in window.words(KOLKATA)
    assert why_waiting(row(next_attempt_at=now), now, QUIET, KOLKATA) == Waiting("due")
    later = now + dt.timedelta(hours=3)  # not the end of a night: a time chosen for it
    assert why_waiting(row(next_attempt_at=later), now, QUIET, KOLKATA).kind == "scheduled"
    assert why_waiting(row(status="sending"), now, QUIET, KOLKATA).words(KOLKATA) == "being sent"
    for gone in ("sent", "delivered", "read", "failed", "not_sent"):
        assert why_waiting(row(status=gone), now, QUIET, KOLKATA) is None


def hold_for_the_night(db, person_id: int) -> dt.datetime:
    """The person's queued messages held until tomorrow's 08:00, as the worker holds them."""
    morning = next_morning(dt.datetime.now(dt.UTC))
    with db.transaction() as session:
        session.execute(update(Outbox).where(Outbox.person_id == person_id)
                        .values(next_attempt_at=morning))
    return morning


def a_retry_and_a_fallback(db, person_id: int) -> None:
    """A second message the provider turned back, and a copy after WhatsApp's 63016."""
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:
        person = session.get(Person, person_id)
        invitation = session.scalars(select(Outbox).where(Outbox.person_id == person_id,
                                                          Outbox.key == "invitation")).first()
        params = dict(invitation.params)
        busy = Outbox(person_id=person_id, phone=person.phone, channel="whatsapp",
                      key="invitation", params=params, status="queued", attempts=1,
                      error_code=20429, error_message="Too many requests",
                      next_attempt_at=now + dt.timedelta(minutes=1), created_at=now)
        refused = Outbox(person_id=person_id, phone=person.phone, channel="whatsapp",
                         key="invitation", params=params, status="failed", error_code=63016,
                         created_at=now, provider_sid="SMrefused")
        session.add_all([busy, refused])
        session.flush()
        session.add(Outbox(person_id=person_id, phone=person.phone, channel="whatsapp",
                           key="invitation", params=params, status="queued", attempts=0,
                           fallback_of=refused.id, next_attempt_at=now, created_at=now))


# --- the simulator -----------------------------------------------------------------------------

def test_the_simulator_shows_times_in_the_schools_zone_and_says_which(client, db, invited):
    html = client.get(f"/simulator/?phone={quote(invited.phone)}").get_data(as_text=True)
    assert "UTC" not in html
    assert "Times on this page are in India Standard Time (Asia/Kolkata)." in html
    with db.transaction() as session:
        school = session.scalars(select(School)).one()
        school.timezone = "Africa/Kigali"
        invited_at = session.scalars(select(Outbox)).first().created_at
    html = client.get(f"/simulator/?phone={quote(invited.phone)}").get_data(as_text=True)
    assert "Times on this page are in Central Africa Time (Africa/Kigali)." in html
    from storage.schedule import zone

    assert invited_at.astimezone(zone("Africa/Kigali")).strftime("%d %b %H:%M") in html


def test_the_simulator_says_why_a_message_waits(client, db, invited):
    hold_for_the_night(db, invited.person_id)
    a_retry_and_a_fallback(db, invited.person_id)
    html = client.get(f"/simulator/?phone={quote(invited.phone)}").get_data(as_text=True)
    assert "queued · <span class=\"waits\">quiet hours until 08:00</span>" in html
    assert "retrying: provider busy" in html
    assert "outside WhatsApp&#39;s 24-hour window" in html


def test_a_photo_sent_shows_as_a_thumbnail_served_by_kadam(app, client, db, invited):
    chat = Chat(client)
    chat.send(invited.phone, "yes")
    chat.send(invited.phone, "3", photo=PNG)
    with db.sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    html = client.get(f"/simulator/?phone={quote(invited.phone)}").get_data(as_text=True)
    thumbnail = f'src="/admin/evidence/{evidence.id}/photo"'
    assert thumbnail in html and "attachment(s)" not in html
    with client.get(f"/admin/evidence/{evidence.id}/photo") as photo:
        assert photo.status_code == 200 and photo.data == PNG
    # Behind the same sign-in as the simulator.
    assert app.test_client().get(f"/admin/evidence/{evidence.id}/photo").status_code == 302


def sign_in_at(page, base: str, wanted: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + wanted)
    page.get_by_label("Email").fill(STATE_USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{wanted.split('?')[0]}**")


def test_the_simulator_reads_right_in_a_real_browser(app, db, invited, tmp_path):
    """The zone said once, why a held message waits, and a photo as a thumbnail the
    page's Content-Security-Policy lets the browser show."""
    hold_for_the_night(db, invited.person_id)
    photo = tmp_path / "story-wall.png"
    photo.write_bytes(PNG)
    with live_server(app) as base, browser_page() as page:
        refused: list[str] = []
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        sign_in_at(page, base, f"/simulator/?phone={quote(invited.phone)}")
        assert page.get_by_text("Times on this page are in India Standard Time "
                                "(Asia/Kolkata).").is_visible()
        invitation = page.locator(".bubble.bot", has_text="invited to the project").first
        assert "quiet hours until 08:00" in invitation.inner_text()
        assert "UTC" not in page.locator("section.chat").inner_text()
        page.get_by_role("button", name="Yes, let's start").click()
        page.locator(".bubble.bot", has_text="Task 1 of 4").last.wait_for()
        page.get_by_label("Message").fill("3")
        page.get_by_label("Attach a photo").set_input_files(str(photo))
        page.get_by_role("button", name="Send").click()
        page.locator(".bubble.bot", has_text="1 file saved for task 3").last.wait_for()
        thumbnail = page.locator(".bubble.me img").last
        thumbnail.wait_for()
        page.wait_for_function("() => [...document.querySelectorAll('.bubble.me img')]"
                               ".every(img => img.complete && img.naturalWidth > 0)")
        assert "attachment(s)" not in page.content()
        page.screenshot(path=str(tmp_path / "simulator-reads.png"), full_page=True)
    assert refused == []


# --- the dashboard's delivery page ---------------------------------------------------------------

def test_the_delivery_page_says_why_each_message_waits(client, db, invited):
    hold_for_the_night(db, invited.person_id)
    a_retry_and_a_fallback(db, invited.person_id)
    html = client.get("/admin/delivery").get_data(as_text=True)
    assert "Waiting to go" in html and "3 messages not sent yet" in html
    assert "quiet hours until 08:00" in html
    assert "retrying: provider busy" in html
    assert "outside WhatsApp&#39;s 24-hour window" in html


def test_an_officer_sees_only_his_areas_waiting_messages(app, db, invited):
    hold_for_the_night(db, invited.person_id)
    make_user(db, "beo.haveli@example.org", "block", "Haveli")
    client = app.test_client()
    assert sign_in(client, "beo.haveli@example.org").status_code == 302
    html = client.get("/admin/delivery").get_data(as_text=True)
    assert "No message is waiting" in html and "Sunita Pawar" not in html


def test_the_delivery_page_in_a_real_browser(app, db, invited, tmp_path):
    hold_for_the_night(db, invited.person_id)
    a_retry_and_a_fallback(db, invited.person_id)
    with live_server(app) as base, browser_page() as page:
        page.goto(f"{base}/admin/")
        page.get_by_label("Email").fill(STATE_USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Campaigns").wait_for()
        page.get_by_role("link", name="Delivery").first.click()
        page.get_by_role("heading", name="Waiting to go").wait_for()
        reasons = page.locator("table.waiting td.why").all_inner_texts()
        assert "quiet hours until 08:00" in reasons
        assert any(r.startswith("retrying: provider busy") for r in reasons)
        assert any("24-hour window" in r for r in reasons)
        assert page.get_by_text("Times on this page are in India Standard Time "
                                "(Asia/Kolkata).").is_visible()
        page.screenshot(path=str(tmp_path / "delivery.png"), full_page=True)
