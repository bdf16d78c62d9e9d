"""/admin/delivery (messages by status, failures by error code and area, opt-outs, each within
the user's scope) and /admin/broadcasts (each broadcast's report, for the state team)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from markupsafe import escape
from sqlalchemy import select

from storage import outbox as outbox_store
from storage.broadcasts import create
from storage.delivery import ERRORS, NO_AREA, SAME_AS, health
from storage.models import Outbox, Person, Project, School
from storage.scope import Scope
from tests.admin_support import (
    NOW,
    USERS,
    add_users,
    build_world,
    client_for,
    make_app,
)
from tests.factories import make_beo

SCOPES = {"state": Scope(), "satara": Scope("satara"), "pune": Scope("pune"),
          "wai": Scope(None, "wai")}


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media", ADMIN_NOW=NOW)  # "the last 7 days" count from NOW
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def world(db, tmp_path):
    world = build_world(db, tmp_path / "media")
    add_users(db)
    now = NOW  # the world's, and the dashboard's, now
    with db.transaction() as session:
        # An officer (no school: their own district and block), a number not in the roster,
        # and recent messages, so that the period and every kind of recipient count.
        beo = make_beo(session, district="Satara", block="Wai", phone="+919800000001")
        session.add_all([
            Outbox(person_id=beo.id, phone=beo.phone, channel="whatsapp", key="digest",
                   status="undelivered", error_code=30005, created_at=now - dt.timedelta(days=2)),
            Outbox(person_id=None, phone="+919800000002", channel="sms", key="unknown",
                   status="failed", error_code=21211, created_at=now - dt.timedelta(days=1)),
            Outbox(person_id=beo.id, phone=beo.phone, channel="whatsapp", key="digest",
                   status="read", created_at=now - dt.timedelta(hours=3)),
        ])
        headmaster = session.scalars(select(Person).join(School).where(
            School.code == "PUHA1")).one()
        session.add_all([
            Outbox(person_id=headmaster.id, phone=headmaster.phone, channel="whatsapp",
                   key="task.prompt", status="queued", created_at=now - dt.timedelta(days=20)),
            Outbox(person_id=headmaster.id, phone=headmaster.phone, channel="whatsapp",
                   key="task.prompt", status="sending", created_at=now - dt.timedelta(days=40)),
        ])
        # A Wai headmaster who also opted out, to count by school.
        session.scalars(select(Person).join(School).where(
            School.code == "SAWA1")).one().opted_out_at = now
    return world



def outbox_rows(db):
    """Every message with its recipient's area (a school's, else an officer's own)."""
    with db.sessions() as session:
        rows = session.execute(
            select(Outbox.status, Outbox.error_code, Outbox.created_at, Outbox.project_id,
                   Person.district.label("person_district"), Person.block.label("person_block"),
                   School.district, School.block, School.name)
            .outerjoin(Person, Person.id == Outbox.person_id)
            .outerjoin(School, School.id == Person.school_id)
        ).all()
    return rows


def in_scope(row, scope):
    district = row.district if row.district is not None else row.person_district
    block = row.block if row.block is not None else row.person_block
    if district is None:
        return scope.is_everything
    return scope.holds(district, block)


def expected(db, scope, since=None, campaign_project_ids=None):
    rows = [r for r in outbox_rows(db) if in_scope(r, scope)
            and (since is None or r.created_at >= since)
            and (campaign_project_ids is None or r.project_id in campaign_project_ids)]
    by_status = Counter(SAME_AS.get(r.status, r.status) for r in rows)
    failed = [r for r in rows if r.status in ("failed", "undelivered")]
    return by_status, Counter(r.error_code for r in failed), failed


def opted_out(db, scope):
    with db.sessions() as session:
        people = session.execute(
            select(Person.district.label("person_district"), Person.block.label("person_block"),
                   School.district, School.block)
            .outerjoin(School, School.id == Person.school_id)
            .where(Person.opted_out_at.is_not(None))).all()
    return sum(1 for p in people if in_scope(p, scope))


@pytest.mark.parametrize("who", list(USERS))
def test_delivery_numbers_add_up_from_the_outbox(db, world, who):
    scope = SCOPES[who]
    now = NOW
    with db.sessions() as session:
        campaign_projects = set(session.scalars(select(Project.id)))
    for since in (None, now - dt.timedelta(days=30), now - dt.timedelta(days=7)):
        for campaign, projects in ((None, None), (world.campaign_id, campaign_projects)):
            with db.sessions() as session:
                result = health(session, scope, campaign, since)
            by_status, by_code, failed = expected(db, scope, since, projects)
            assert result.by_status == by_status, (who, since, campaign)
            assert result.total == sum(by_status.values())
            assert {code: n for code, _, n in result.failed_by_code} == dict(by_code)
            assert sum(area.failed for area in result.areas) == len(failed)
    with db.sessions() as session:
        result = health(session, scope)
    assert result.opted_out == opted_out(db, scope)
    assert sum(area.opted_out for area in result.areas) == result.opted_out


def test_failures_by_area_follow_the_users_level(db, world):
    rows = [r for r in outbox_rows(db) if r.status in ("failed", "undelivered")]
    with db.sessions() as session:
        state = health(session, Scope())
        satara = health(session, Scope("satara"))
        wai = health(session, Scope(None, "wai"))
    assert state.level == "district" and satara.level == "block" and wai.level == "school"
    districts = Counter(r.district or r.person_district or NO_AREA for r in rows)
    assert {a.name: a.failed for a in state.areas if a.failed} == dict(districts)
    blocks = Counter(r.block or r.person_block for r in rows
                     if (r.district or r.person_district) == "Satara")
    assert {a.name: a.failed for a in satara.areas if a.failed} == dict(blocks)
    with db.sessions() as session:
        beo = session.scalars(select(Person.name).where(Person.role == "beo")).one()
    assert {a.name: (a.failed, a.opted_out) for a in wai.areas} == {
        "ZP School Wai 3": (1, 0),  # failed 63016
        "ZP School Wai 2": (0, 1),  # opted out
        f"{beo} (officer)": (1, 0),  # undelivered 30005
    }
    assert {a.name: a.opted_out for a in state.areas if a.opted_out} == {"Pune": 1, "Satara": 1}


def numbers(html):
    """The page's cards: label -> number."""
    return {label.strip(): int(n.replace(",", "")) for n, label in re.findall(
        r'<div class="n[^"]*">([\d,]+)</div>\s*<div class="l">([^<·]+)', html)}


@pytest.mark.parametrize("who", ["state", "pune", "wai"])
def test_the_delivery_page_shows_the_scopes_numbers(app, db, world, who):
    client = client_for(app, who)
    html = client.get("/admin/delivery?period=all").get_data(as_text=True)
    by_status, by_code, failed = expected(db, SCOPES[who])
    cards = numbers(html)
    assert cards["Messages"] == sum(by_status.values())
    for status in ("queued", "sent", "delivered", "read", "failed", "undelivered"):
        assert cards[status.capitalize()] == by_status[status], status
    assert cards["People opted out (STOP)"] == opted_out(db, SCOPES[who])
    assert set(by_code) == {"state": {21211, 30003, 30005, 63016}, "pune": {30003, 63016},
                            "wai": {30005, 63016}}[who]
    for code in by_code:
        assert f"<td>{code}</td><td>{escape(ERRORS[code])}</td>" in html
    # The default period is the last 7 days.
    week = numbers(client.get("/admin/delivery").get_data(as_text=True))
    assert week["Messages"] == sum(expected(
        db, SCOPES[who], NOW - dt.timedelta(days=7))[0].values())
    # That week holds the Wai officer's two messages and, for the state only, the one to the
    # number not in the roster; the world's are ten days old, the others 20 and 40.
    assert week["Messages"] == {"state": 3, "pune": 0, "wai": 2}[who]


def test_the_delivery_page_describes_common_errors():
    for code in (63016, 30003, 30005, 30006, 30007, 21610, 21211, 63003):
        assert ERRORS[code]
    assert "24-hour" in ERRORS[63016] and "STOP" in ERRORS[21610]


def apply(db, statuses):
    """Twilio's part, simulated: accept every queued broadcast message, then call back."""
    with db.transaction() as session:
        rows = session.scalars(select(Outbox).where(Outbox.broadcast_id.is_not(None),
                                                    Outbox.status == "queued")
                               .order_by(Outbox.id)).all()
        for row in rows:
            row.status, row.provider_sid = "sent", f"SM{row.id:032d}"
    with db.transaction() as session:
        for row, (status, code) in zip(rows, statuses, strict=False):
            outbox_store.apply_status_callback(session, f"SM{row.id:032d}", status, code,
                                               now=NOW)
    return len(rows)


def test_the_broadcast_pages_report_adds_up(app, db, world):
    result = create(db, {"en": "Science fair on Friday. <b>Bring</b> one photo.",
                         "hi": "शुक्रवार को विज्ञान मेला है।"}, ["district:satara"],
                    role="all", now=NOW)
    sent = apply(db, [("delivered", None), ("read", None), ("failed", 63016),
                      ("undelivered", 30003), ("undelivered", 30003)])
    audience = result.audience
    assert audience == 7  # six Satara headmasters (one opted out) and Wai's BEO
    client = client_for(app, "state")
    html = client.get("/admin/broadcasts").get_data(as_text=True)
    assert "Science fair on Friday. &lt;b&gt;Bring&lt;/b&gt; one photo." in html
    row = re.search(r"<tr>\s*<td><a href=\"/admin/broadcasts/(\d+)\">.*?</tr>", html, re.S)
    assert row and int(row.group(1)) == result.broadcast_id
    cells = [int(n.replace(",", "")) for n in re.findall(r'<td class="num">([\d,]+)</td>',
                                                          row.group(0))]
    # audience, queued, sent, delivered, read, failed, undelivered, not sent, opted out
    assert cells == [audience, 0, sent - 5, 1, 1, 1, 2, 0, audience - sent]
    assert sum(cells[1:]) == cells[0]
    assert "63016: 1" in html and "30003: 2" in html

    page = client.get(f"/admin/broadcasts/{result.broadcast_id}").get_data(as_text=True)
    cards = numbers(page)
    assert cards["Audience"] == audience and cards["Opted out"] == 1
    assert cards["Undelivered"] == 2 and cards["Read"] == 1
    assert "शुक्रवार को विज्ञान मेला है।" in page and "&lt;b&gt;Bring" in page
    assert escape(ERRORS[63016]) in page
    assert client.get("/admin/broadcasts/999999").status_code == 404


def test_a_celebrations_stories_are_escaped(app, db, world):
    result = create(db, {"stories": [{"school": "ZP School Wai 1",
                                      "story": "<script>alert(1)</script> We read"}]},
                    ["all"], kind="celebration", key="celebration.stories", now=NOW)
    client = client_for(app, "state")
    for url in ("/admin/broadcasts", f"/admin/broadcasts/{result.broadcast_id}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


@pytest.mark.parametrize("who", ["satara", "wai"])
def test_broadcasts_are_for_the_state_team_only(app, db, world, who):
    result = create(db, {"en": "Hello"}, ["all"], now=NOW)
    client = client_for(app, who)
    assert client.get("/admin/broadcasts").status_code == 403
    assert client.get(f"/admin/broadcasts/{result.broadcast_id}").status_code == 403
    home = client.get("/admin/").get_data(as_text=True)
    assert "/admin/broadcasts" not in home and "/admin/delivery" in home
    assert "/admin/broadcasts" in client_for(app, "state").get("/admin/").get_data(as_text=True)


def test_a_broadcast_message_the_provider_keeps_turning_away_is_retrying_not_queued(
        app, db, world):
    from bot.cli.broadcasts import echo_report
    from storage.broadcasts import report

    result = create(db, {"en": "Science fair on Friday."}, ["district:satara"], role="all")
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:  # three claimed by a worker
        claimed = session.scalars(select(Outbox).where(
            Outbox.broadcast_id == result.broadcast_id, Outbox.status == "queued")
            .order_by(Outbox.id).limit(3)).all()
        for row in claimed:
            row.status, row.attempts = "sending", 1
    with db.transaction() as session:  # what the worker records after 429, 429, a timeout
        for item, (code, message) in zip(claimed, [(20429, "Too Many Requests"),
                                                    (20429, "Too Many Requests"),
                                                    (None, "ReadTimeout: read timed out")],
                                         strict=True):
            outbox_store.mark_retry(session, item.id, dt.timedelta(minutes=2), code, message,
                                    now=now)
    with db.sessions() as session:
        summary = report(session, result.broadcast_id)
    assert summary.by_status["retrying"] == 3
    assert summary.retrying_by_reason == Counter({"provider busy": 2,
                                                  "no answer from provider": 1})
    assert summary.by_status["queued"] == result.audience - 1 - 3  # one opted out
    page = client_for(app, "state").get(f"/admin/broadcasts/{result.broadcast_id}")
    text = page.get_data(as_text=True)
    assert numbers(text)["Retrying"] == 3 and "provider busy" in text
    lines: list[str] = []
    import click

    original = click.echo
    click.echo = lambda message=None, **_: lines.append(str(message))  # type: ignore[assignment]
    try:
        echo_report(summary)
    finally:
        click.echo = original
    assert "  retrying: 3" in lines and "    provider busy: 2" in lines
