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
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from bot.cli.demo import DEMO_USER, demo_config, demo_settings, load_demo_data
from bot.engine.engine import Engine, Inbound
from bot.worker.outbound import render_row
from storage.models import Campaign, InboundMessage, Outbox, Person, Project
from tests.admin_support import csrf_of, make_app
from tests.browser import browser_page, live_server
from tests.clock import wall_now

README = Path(__file__).resolve().parents[1] / "README.md"
# The README's walkthrough: a headmaster with an open invitation in each language.
OPEN_INVITATIONS = {"Farida Khan": "en", "Meena Kumari": "hi"}


@pytest.fixture
def demo(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.delenv("KADAM_TIMEZONE", raising=False)
    monkeypatch.delenv("KADAM_QUIET_HOURS", raising=False)
    settings = demo_settings("127.0.0.1", 5000)
    assert load_demo_data(db, settings)
    app = make_app(db, tmp_path / "media", **demo_config(settings))
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
        # The one he asked for (Monday's digests came on their own).
        row = session.scalars(select(Outbox).where(Outbox.person_id == beo.id,
                                                   Outbox.key == "digest")
                              .order_by(Outbox.id.desc())).first()
        digest = render_row(session, row, session.get(Person, beo.id)).text
    html = signed_in(demo).get(
        f"/admin/campaigns/{retell.id}/districts/Satara/blocks/Wai").get_data(as_text=True)
    shown = cards(html)
    line = re.search(r"(\d+) of (\d+) schools started, (\d+) completed", digest)
    assert line, digest
    assert (int(line[1]), int(line[2]), int(line[3])) == (
        shown["Started"], shown["Invited"], shown["Completed"])


# --- every demo history is a true story --------------------------------------------------------

def history(session, person):
    """The person's messages as the simulator orders them: by time, a message before the
    replies written in the same step, then by id."""
    items = [(m.received_at, 0, m.id, m) for m in session.scalars(
        select(InboundMessage).where(InboundMessage.phone == person.phone))]
    items += [(r.created_at, 1, r.id, r) for r in session.scalars(
        select(Outbox).where(Outbox.phone == person.phone))]
    return [item[3] for item in sorted(items, key=lambda item: item[:3])]


def check_causal_order(story):
    """Invitation before any reply, each task's prompt before the answer about it, the
    celebration after the last task's answer, the story before the consent to share it."""
    said = [i for i, m in enumerate(story) if isinstance(m, InboundMessage)]
    at = {("in", m.id): i for i, m in enumerate(story) if isinstance(m, InboundMessage)}
    sent = [(i, m) for i, m in enumerate(story) if isinstance(m, Outbox)]

    def first(key, **where):
        found = [i for i, m in sent if m.key == key and all(getattr(m, k) == v
                                                             for k, v in where.items())]
        return found[0] if found else None

    invitation = first("invitation")
    assert invitation is not None and invitation < min(said, default=len(story))
    for i, reply in sent:
        if reply.in_reply_to is not None:  # a reply comes after what it answers
            assert at[("in", reply.in_reply_to)] < i
        if reply.key in ("task.done", "task.done_send_photo", "task.help_noted",
                         "evidence.saved"):
            prompt = first("task.prompt", task_id=reply.task_id)
            assert prompt is not None and prompt < at[("in", reply.in_reply_to)], (
                f"the answer about task {reply.task_id} came before its prompt")
    celebration = first("project.celebration")
    if celebration is not None:
        done = [i for i, m in sent if m.key in ("task.done", "task.done_send_photo")]
        assert max(done) < celebration
        question = first("project.story_question")
        saved = first("project.story_saved")
        asked = first("project.share_question")
        thanks = first("project.share_thanks")
        assert celebration < question < at[("in", story[saved].in_reply_to)] < saved
        assert saved < asked < at[("in", story[thanks].in_reply_to)] < thanks
    return celebration is not None


def test_every_demo_history_is_in_causal_order(demo, db):
    with db.sessions() as session:
        headmasters = session.scalars(select(Person).where(Person.role == "headmaster")).all()
        finished = [person.name for person in headmasters
                    if check_causal_order(history(session, person))]
    assert finished == ["Vijay Kadam"]


def test_the_readme_walks_through_the_demos_open_invitations(demo, db):
    readme = README.read_text(encoding="utf-8")
    walkthrough = readme[readme.index("In the simulator, pick"):]
    walkthrough = " ".join(walkthrough[:walkthrough.index("\n## ")].split())
    with db.sessions() as session:
        for name, language in OPEN_INVITATIONS.items():
            assert name in walkthrough
            person = session.scalars(select(Person).where(Person.name == name)).one()
            assert (person.language, person.channel) == (language, "whatsapp")
            project = session.scalars(select(Project).where(
                Project.headmaster_id == person.id)).one()
            assert project.status == "invited"
            assert [m.key for m in history(session, person)] == ["invitation"]
    # The two set-up commands stay as they are.
    assert ".venv/bin/pip install -q -e . && .venv/bin/kadam demo" in readme
    assert ".venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest" in readme


# --- demo links are whole links -----------------------------------------------------------------

def test_demo_links_are_absolute(demo, db):
    with db.sessions() as session:
        digests = session.scalars(select(Outbox).where(Outbox.key == "digest")).all()
        texts = [render_row(session, row, session.get(Person, row.person_id)).text
                 for row in digests]
    client = signed_in(demo)
    beo = "+919822020000"  # Prakash More, BEO of Wai: asks for his digest, then its photos
    token = csrf_of(client.get(f"/simulator/?phone={quote(beo)}").get_data(as_text=True))
    for text in ("status", "3"):
        client.post("/simulator/send", data={"phone": beo, "text": text, "csrf_token": token})
    with db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.phone == beo,
                                                   Outbox.key == "digest.photos")).one()
        texts.append(render_row(session, row, session.get(Person, row.person_id)).text)
    links = [link for text in texts for link in re.findall(r"\S*/evidence/\S+", text)]
    assert links, "Sunita Pawar's photo of this week is in the Wai digest"
    assert all(link.startswith("http://127.0.0.1:5000/evidence/") for link in links), links
    path = links[-1].removeprefix("http://127.0.0.1:5000")
    with demo.test_client().get(path) as photo:
        assert photo.status_code == 200 and photo.mimetype == "image/png"


def test_demo_settings_name_the_demo_server():
    assert demo_settings("127.0.0.1", 5123).public_url == "http://127.0.0.1:5123"
    assert demo_settings("0.0.0.0", 8000).public_url == "http://127.0.0.1:8000"


def test_the_demo_reads_right_in_a_real_browser(demo, tmp_path):
    """A newcomer's walk: the English and the Hindi invitation answered, a photo from the
    demo's history shown as a thumbnail, and the BEO's digest link opening the photo."""
    with live_server(demo) as base, browser_page() as page:
        demo.config["KADAM"].public_url = base  # the demo's address is this server's
        page.goto(f"{base}/simulator/")
        page.get_by_label("Email").fill(DEMO_USER[0])
        page.get_by_label("Password").fill(DEMO_USER[1])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/simulator/**")
        for name in OPEN_INVITATIONS:
            page.get_by_role("link", name=name).click()
            page.locator(".bubble.bot").first.wait_for()
            assert page.locator(".bubble").count() == 1  # the invitation, nothing else
            page.locator(".bubble.bot button").first.click()
            page.locator(".bubble.bot", has_text="1").nth(2).wait_for()
        page.get_by_role("link", name="Sunita Pawar").click()
        page.wait_for_function("() => { const i = document.querySelector('.bubble.me img');"
                               " return i && i.complete && i.naturalWidth > 0; }")
        page.get_by_role("link", name="Prakash More").click()
        for text in ("status", "3"):  # his digest, then this week's photos
            page.get_by_label("Message").fill(text)
            page.get_by_role("button", name="Send").click()
        digest = page.locator(".bubble.bot", has_text=f"{base}/evidence/").last
        digest.wait_for()
        link = re.search(rf"{re.escape(base)}/evidence/\S+", digest.inner_text())
        assert link
        page.screenshot(path=str(tmp_path / "demo-digest.png"), full_page=True)
        opened = page.goto(link[0])
        assert opened is not None and opened.status == 200
        assert opened.header_value("content-type") == "image/png"
