"""`kadam demo`'s data, as a state user, a BEO and the dashboard see it.

The demo plays a fortnight of replies through the engine; what the dashboard shows and what
the BEO of Wai reads in his digest must agree, and the district that is behind (Pune: nobody
has answered) must stand out.

The demo's fortnight ends at the real time it is loaded (`load_demo_data` takes no clock), so
the dashboard and the BEO's digest here read the real clock too; what is checked is relative
to it, the same whatever the date.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.demo import DEMO_USER, load_demo_data
from bot.engine import Engine, Inbound
from bot.outbound import render_row
from storage.models import Campaign, Outbox, Person
from tests.admin_support import csrf_of, make_app
from tests.clock import wall_now


@pytest.fixture
def demo(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    assert load_demo_data(db)
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


def signed_in(app):
    client = app.test_client()
    token = csrf_of(client.get("/admin/login").get_data(as_text=True))
    response = client.post("/admin/login", data={"email": DEMO_USER[0],
                                                 "password": DEMO_USER[1], "csrf_token": token})
    assert response.status_code == 302
    return client


def cards(html):
    return {label.strip(): int(n.replace(",", "")) for n, label in re.findall(
        r'<div class="n">([\d,]+)</div><div class="l">([A-Za-z ]+)', html)}


def test_the_demo_dashboard_shows_pune_behind(demo, db):
    client = signed_in(demo)
    with db.sessions() as session:
        retell = session.scalars(select(Campaign).where(Campaign.name.like("Retell%"))).one()
    html = client.get(f"/admin/campaigns/{retell.id}").get_data(as_text=True)
    behind = re.findall(r'<tr id="area-\d+" class="behind">\s*<td><a [^>]+>([^<]+)</a>', html)
    # Pune is behind (nobody answered). Kigali's one school started two days ago and has
    # finished nothing yet, but it is under way: not behind.
    assert behind == ["Pune"]
    assert cards(html)["Completed"] == 1  # Vijay Kadam's school finished
    pune = client.get(f"/admin/campaigns/{retell.id}/districts/Pune?silent=1")
    assert cards(pune.get_data(as_text=True))["Silent over"] == 3


def test_the_wai_beo_reads_in_his_digest_what_the_dashboard_shows(demo, db):
    with db.sessions() as session:
        beo = session.scalars(select(Person).where(Person.name == "Prakash More")).one()
        beo.language = "en"  # the digest's wording in English, for the test to read
        session.commit()
        retell = session.scalars(select(Campaign).where(Campaign.name.like("Retell%"))).one()
    Engine(db, demo.config["KADAM"]).receive(Inbound(sid="SMdemo-status", phone=beo.phone,
                                                     channel="whatsapp", body="status"),
                                             now=wall_now())
    with db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.person_id == beo.id,
                                                   Outbox.key == "digest")).one()
        digest = render_row(session, row, session.get(Person, beo.id)).text
    html = signed_in(demo).get(
        f"/admin/campaigns/{retell.id}/districts/Satara/blocks/Wai").get_data(as_text=True)
    shown = cards(html)
    line = re.search(r"(\d+) of (\d+) schools started, (\d+) completed", digest)
    assert line, digest
    assert (int(line[1]), int(line[2]), int(line[3])) == (
        shown["Started"], shown["Invited"], shown["Completed"])
