"""The campaign page and its drill-down (district, block, school, project timeline), within
each user's scope. Expected numbers come from build_world's rows, never typed in by hand."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from storage.campaigns import launch
from storage.dashboard import school_rows
from storage.models import (
    PROJECT_ACTIVE,
    Evidence,
    InboundMessage,
    Outbox,
    Person,
    Project,
    School,
    Task,
    TemplateTask,
)
from storage.scope import Scope
from storage.silence import SILENT_AFTER
from tests.admin_support import (
    AREAS,
    NOW,
    SCRIPT_STORY,
    add_users,
    build_world,
    client_for,
    make_app,
)

CARDS = {"Invited": "invited", "Not yet started": "waiting", "Running": "started",
         "Completed": "completed", "Lapsed": "lapsed", "Started": "ever_started",
         "Silent over": "silent"}
# build_world's statuses as the cards count them
KIND = {"invited": "waiting", "in_progress": "started", "started": "started",
        "submitted": "completed", "lapsed": "lapsed"}


@pytest.fixture
def app(db, tmp_path):
    # The pages' clock is pinned to the world's: what is "silent" depends on it.
    app = make_app(db, tmp_path / "media", ADMIN_NOW=NOW)
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def world(db, tmp_path):
    world = build_world(db, tmp_path / "media")
    add_users(db)
    return world



def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def cards(html):
    found = re.findall(r'<div class="n">([\d,]+)</div><div class="l">([A-Za-z ]+)', html)
    return {CARDS[label.strip()]: int(n.replace(",", "")) for n, label in found
            if label.strip() in CARDS}


def test_an_officers_digest_says_what_the_dashboard_shows(app, world, db):
    """The BEO of Wai and the DEO of Satara read, in their digests, the numbers the
    dashboard shows for their block and district."""
    from storage.digests import digests
    from tests.factories import make_beo

    with db.transaction() as session:
        beo = make_beo(session, district="Satara", block="Wai")
        deo = make_beo(session, district="Satara", block="")
        deo.role = "deo"
        session.flush()
        read = digests(session, [beo, deo], NOW)
    client = client_for(app, "state")
    for officer, url in ((beo, block_url(world, "Satara", "Wai")),
                         (deo, f"/admin/campaigns/{world.campaign_id}/districts/Satara")):
        (section,) = read[officer.id]["campaigns"]
        shown = cards(page(client, url))
        assert section["schools"] == shown["invited"]
        assert section["started"] == shown["ever_started"]
        assert section["completed"] == shown["completed"]
        assert len(section["silent"]) == shown["silent"]


def expected_counts(world, district=None, block=None, silent=False):
    codes = world.codes_in(district, block)
    counts = Counter(KIND[world.schools[code][3]] for code in codes)
    expected = {"invited": len(codes), "ever_started": len(codes) - counts.get("waiting", 0),
                **{k: counts.get(k, 0) for k in ("waiting", "started", "completed", "lapsed")}}
    if silent:  # district and block pages also count the silent schools
        expected["silent"] = len(set(codes) & set(world.silent_codes))
    return expected


def chart_rows(html):
    """(name, behind?) of each row of a completion chart."""
    return [(name, cls == "behind") for cls, name in re.findall(
        r'<tr id="area-\d+" class="(behind)?">\s*<td><a href="[^"]+">([^<]+)</a>', html)]


def listed_schools(html):
    return sorted(re.findall(r'<tr id="school-([^"]+)"', html))


def silent_by_rule(db, block):
    """The digests' rule, straight from the rows: waiting or running, not heard for a week."""
    with db.sessions() as session:
        rows = session.execute(
            select(School.code, Project.status, Person.last_inbound_at, Project.last_reply_at,
                   Project.started_at, Project.invited_at)
            .join(School, School.id == Project.school_id)
            .join(Person, Person.id == Project.headmaster_id).where(School.block == block)).all()
    return sorted(code for code, status, *times in rows if status in PROJECT_ACTIVE
                  and max((t for t in times if t), default=NOW) < NOW - SILENT_AFTER)


def block_url(world, district, block, query=""):
    return f"/admin/campaigns/{world.campaign_id}/districts/{district}/blocks/{block}{query}"


def test_the_campaign_page_counts_every_school_by_status(app, world):
    html = page(client_for(app, "state"), f"/admin/campaigns/{world.campaign_id}")
    assert cards(html) == expected_counts(world)
    assert "Retell the Tale, 2026" in html
    assert '<a href="/admin/">Campaigns</a>' in html  # breadcrumbs
    # The chart is by district, each linking to its page.
    assert [name for name, _ in chart_rows(html)] == ["Pune", "Satara"]
    assert f'href="/admin/campaigns/{world.campaign_id}/districts/Satara"' in html


def test_the_district_behind_is_marked_and_the_rule_said(app, world):
    html = page(client_for(app, "state"), f"/admin/campaigns/{world.campaign_id}")
    def progress(c):  # completed schools count one, running schools a half
        return (c["completed"] + c["started"] / 2) / c["invited"]

    whole = expected_counts(world)
    expected = []
    for district in ("Pune", "Satara"):
        c = expected_counts(world, district)
        behind = progress(c) < 0.5 * progress(whole)  # the bar, and nothing else
        expected.append((district, behind))
    assert chart_rows(html) == expected
    assert ("Pune", True) in expected and ("Satara", False) in expected  # the world's design
    said = " ".join(html.split())
    assert ('is marked <span class="behind">behind</span> when its bar is shorter than 50% of '
            'the progress here') in said
    # Within Pune, Mulshi (nobody started) is behind and Haveli is not.
    html = page(client_for(app, "state"), f"/admin/campaigns/{world.campaign_id}/districts/Pune")
    assert chart_rows(html) == [("Haveli", False), ("Mulshi", True)]


def test_the_funnel_counts_schools_that_completed_each_task(app, world, db):
    with db.sessions() as session:
        done = dict(session.execute(
            select(Task.position, func.count()).where(Task.status == "completed")
            .group_by(Task.position)).all())
        titles = dict(session.execute(select(TemplateTask.position, TemplateTask.title)).all())
    html = page(client_for(app, "state"), f"/admin/campaigns/{world.campaign_id}")
    shown = {int(position): (title, int(n)) for position, title, n in re.findall(
        r'<tr id="task-(\d+)">\s*<td>\d+\. ([^<]+)</td>.*?<td class="num">(\d+) ', html, re.S)}
    assert shown == {p: (titles[p]["en"], done.get(p, 0)) for p in titles}
    assert shown[1][1] > shown[2][1] > 0  # it narrows: more picked a story than told it


def test_drilling_down_lists_exactly_the_blocks_and_schools(app, world):
    client = client_for(app, "state")
    for district in ("Satara", "Pune"):
        html = page(client, f"/admin/campaigns/{world.campaign_id}/districts/{district}")
        assert [name for name, _ in chart_rows(html)] == sorted(
            b for d, b in AREAS if d == district)
        assert listed_schools(html) == []  # blocks, not schools, unless ?silent=1
        assert cards(html) == expected_counts(world, district, silent=True)
    for district, block in AREAS:
        html = page(client, block_url(world, district, block))
        assert listed_schools(html) == world.codes_in(district, block)
        assert cards(html) == expected_counts(world, district, block, silent=True)
        assert f'>{district}</a>\n  › {block}</div>' in html  # breadcrumbs
    # Names match as the roster's do: without regard to case.
    html = page(client, block_url(world, "satara", "WAI"))
    assert listed_schools(html) == world.codes_in("Satara", "Wai")
    page(client, block_url(world, "Satara", "Haveli"), 404)  # Haveli is in Pune
    page(client, f"/admin/campaigns/{world.campaign_id}/districts/Nowhere", 404)
    page(client, "/admin/campaigns/9999", 404)


def test_a_block_page_shows_each_schools_progress(app, world):
    html = page(client_for(app, "state"), block_url(world, "Satara", "Wai"))
    row = re.search(r'<tr id="school-SAWA1">(.*?)</tr>', html, re.S).group(1)
    assert "Headmaster Wai 2" in row and "running" in row
    assert "Tell the story" in row  # current task: the first still open
    assert "1/3" in row and 'class="tag bad">silent' in row
    row = re.search(r'<tr id="school-SAWA0">(.*?)</tr>', html, re.S).group(1)
    assert "completed" in row and "3/3" in row and "silent" not in row


def test_only_silent_schools(app, world, db):
    client = client_for(app, "state")
    # Mulshi: nobody there has answered the invitation, ten days on.
    html = page(client, block_url(world, "Pune", "Mulshi", "?silent=1"))
    assert listed_schools(html) == sorted(c for c in world.silent_codes if c.startswith("PUMU"))
    for district, block in AREAS:
        expected = silent_by_rule(db, block)
        html = page(client, block_url(world, district, block, "?silent=1"))
        assert listed_schools(html) == expected
        assert set(world.codes_in(district, block)) & set(world.silent_codes) <= set(expected)
        html = page(client, block_url(world, district, block))
        assert f"Only silent schools ({len(expected)})" in html
    # A district's silent schools, across its blocks.
    html = page(client, f"/admin/campaigns/{world.campaign_id}/districts/Pune?silent=1")
    assert listed_schools(html) == sorted(silent_by_rule(db, "Haveli")
                                          + silent_by_rule(db, "Mulshi"))


def test_export_links_carry_the_area_once_exports_exist(app, db, world, tmp_path):
    if "admin.export" not in app.view_functions:
        # Until the exports page lands, no link; then a stand-in for it.
        assert "/admin/exports/" not in page(client_for(app, "state"),
                                             block_url(world, "Satara", "Wai"))
    app = make_app(db, tmp_path / "media", ADMIN_NOW=NOW)
    if "admin.export" not in app.view_functions:
        app.add_url_rule("/admin/exports/<what>.<fmt>", endpoint="admin.export",
                         view_func=lambda what, fmt: "")
    try:
        html = page(client_for(app, "state"), block_url(world, "Satara", "Wai", "?silent=1"))
        links = re.findall(r'href="(/admin/exports/[^"]+)"', html)
        assert any(link.startswith("/admin/exports/projects.xlsx?") for link in links)
        assert any(link.startswith("/admin/exports/projects.csv?") for link in links)
        for link in links:
            for arg in (f"campaign={world.campaign_id}", "district=Satara", "block=Wai",
                        "silent=1"):
                assert arg in link
        html = page(client_for(app, "state"),
                    f"/admin/campaigns/{world.campaign_id}/districts/Satara")
        links = re.findall(r'href="(/admin/exports/[^"]+)"', html)
        assert links and all("district=Satara" in x and "block=" not in x
                             and "silent" not in x for x in links)
    finally:
        app.extensions["kadam.db"].dispose()


def test_the_school_page(app, world, db):
    html = page(client_for(app, "state"), "/admin/schools/PUMU2")
    assert "Headmaster Mulshi 3" in html and "+919822000012" in html
    assert "opted out" in html  # PUMU2's headmaster opted out
    project_id = world.schools["PUMU2"][2]
    assert f'href="/admin/projects/{project_id}"' in html
    assert "not yet started" in html
    page(client_for(app, "state"), "/admin/schools/NOSUCH", 404)


def test_the_project_timeline(app, world, db):
    project_id = world.script_project_id
    with db.transaction() as session:
        project = session.get(Project, project_id)
        hm = project.headmaster
        session.add(InboundMessage(sid="SM-t1", phone=hm.phone, person_id=hm.id,
                                   channel="whatsapp", body="<i>we told it</i> today",
                                   media=[{"url": "u1"}, {"url": "u2"}],
                                   received_at=NOW - dt.timedelta(days=6)))
        # Before the invitation: another matter, not this project's.
        session.add(InboundMessage(sid="SM-t0", phone=hm.phone, person_id=hm.id,
                                   channel="whatsapp", body="long before",
                                   received_at=NOW - dt.timedelta(days=30)))
        session.add(Outbox(person_id=hm.id, phone=hm.phone, channel="sms", key="help.reply",
                           status="failed", error_code=30003, form="sms",
                           created_at=NOW - dt.timedelta(days=5)))
        evidence_id = session.scalar(select(Evidence.id).join(Task).where(
            Task.project_id == project_id))
    html = page(client_for(app, "state"), f"/admin/projects/{project_id}")
    assert "&lt;i&gt;we told it&lt;/i&gt; today" in html and "<i>we told it" not in html
    assert "2 attachments" in html
    assert "long before" not in html
    assert "<code>invitation</code>" in html and "<code>help.reply</code>" in html
    assert "error 30003" in html
    assert "1. Pick a story</strong>: completed" in html
    assert f'<img src="/admin/evidence/{evidence_id}/photo"' in html \
        or "Story time at ZP School Wai 1" in html  # before the photo endpoint exists
    # Oldest first: invitation, started, messages, completed.
    at = [html.index(s) for s in ("<strong>Invited", "<strong>Started", "we told it",
                                  "help.reply", "<strong>Completed")]
    assert at == sorted(at)
    # What a headmaster typed is text, never markup.
    assert "&lt;script&gt;alert(" in html and SCRIPT_STORY not in html
    assert "<script>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; remark" in html and "<b>bold</b>" not in html
    assert "agreed to share" in html
    # Breadcrumbs down to the school.
    assert 'href="/admin/schools/SAWA0?campaign=' in html
    assert f'href="/admin/campaigns/{world.campaign_id}/districts/Satara/blocks/Wai"' in html


def test_a_district_user_sees_only_their_district(app, world):
    client = client_for(app, "satara")
    html = page(client, f"/admin/campaigns/{world.campaign_id}")
    assert cards(html) == expected_counts(world, "Satara")
    assert [name for name, _ in chart_rows(html)] == ["Koregaon", "Wai"]  # by block
    page(client, f"/admin/campaigns/{world.campaign_id}/districts/Satara")
    page(client, block_url(world, "Satara", "Koregaon"))
    _refused_outside(client, world, inside=world.codes_in("Satara"))


def test_a_block_user_sees_only_their_block(app, world):
    client = client_for(app, "wai")
    html = page(client, f"/admin/campaigns/{world.campaign_id}")
    assert cards(html) == expected_counts(world, "Satara", "Wai")
    assert [name for name, _ in chart_rows(html)] == ["Wai"]
    html = page(client, f"/admin/campaigns/{world.campaign_id}/districts/Satara")
    assert [name for name, _ in chart_rows(html)] == ["Wai"]  # not Koregaon
    assert listed_schools(page(client, block_url(world, "Satara", "Wai"))) \
        == world.codes_in("Satara", "Wai")
    page(client, block_url(world, "Satara", "Koregaon"), 404)
    _refused_outside(client, world, inside=world.codes_in("Satara", "Wai"))


def _refused_outside(client, world, inside):
    """Every page of a school or area outside: 404, with none of its data."""
    for district, block in AREAS:
        url = block_url(world, district, block)
        if not set(world.codes_in(district, block)) & set(inside):
            for query in ("", "?silent=1", "?page=2"):
                html = page(client, url + query, 404)
                assert "ZP School" not in html
        if not set(world.codes_in(district)) & set(inside):
            for query in ("", "?silent=1"):
                page(client, f"/admin/campaigns/{world.campaign_id}/districts/{district}"
                     + query, 404)
    for code, (_, _, project_id, _) in world.schools.items():
        status = 200 if code in inside else 404
        html = page(client, f"/admin/schools/{code}", status)
        page(client, f"/admin/schools/{code.lower()}", 404)  # codes are exact
        page(client, f"/admin/projects/{project_id}", status)
        if status == 404:
            assert code not in html


def test_the_state_sees_every_school_and_project(app, world):
    client = client_for(app, "state")
    assert len(world.schools) == 12
    for code, (_, _, project_id, _) in world.schools.items():
        assert code in page(client, f"/admin/schools/{code}")
        page(client, f"/admin/projects/{project_id}")


def test_a_campaign_outside_a_users_area_is_not_found(app, world, db):
    report = launch(db, "retell", ["district:Pune"], start_date=NOW.date(),
                    name="Pune only", now=NOW)
    client = client_for(app, "satara")
    page(client, f"/admin/campaigns/{report.campaign_id}", 404)
    html = page(client_for(app, "state"), f"/admin/campaigns/{report.campaign_id}")
    assert cards(html)["invited"] == len(world.codes_in("Pune"))
    # Each school page lists both of its campaigns' projects.
    assert page(client_for(app, "state"), "/admin/schools/PUMU0").count('<tr id="project-') == 2


def test_school_lists_come_in_pages(world, db):
    with db.sessions() as session:
        first = school_rows(session, Scope.everything(), world.campaign_id, NOW, page=1,
                            per_page=5)
        last = school_rows(session, Scope.everything(), world.campaign_id, NOW, page=3,
                           per_page=5)
    assert len(first.items) == 5 and first.has_next and not first.has_previous
    assert len(last.items) == 2 and not last.has_next and last.has_previous
