"""/admin/evidence: the photo gallery and shared stories, within each user's scope; photos
served only inside it; picks for celebrations by the state team; `kadam celebrate` sending
the picked stories."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage.models import Evidence, Outbox, Project, School, Task, TemplateTask
from tests.admin_support import (
    PNG,
    SCRIPT_STORY,
    add_users,
    build_world,
    client_for,
    csrf,
    make_app,
)


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def world(db, tmp_path):
    world = build_world(db, tmp_path / "media")
    add_users(db)
    return world



def shown_photos(html):
    return [int(n) for n in re.findall(r'<figure id="photo-(\d+)"', html)]


def shown_stories(html):
    return [int(n) for n in re.findall(r'<tr id="story-(\d+)"', html)]


def fetch(client, url):
    """GET a file, closing the response (a served file stays open until then)."""
    with client.get(url) as response:
        response.get_data()
        return response


def status_of(client, url):
    return fetch(client, url).status_code


def photo_rows(db):
    """Every stored photo with what the filters look at, read from the database."""
    with db.sessions() as session:
        return session.execute(
            select(Evidence.id, Evidence.created_at, Evidence.kind, Evidence.status,
                   Evidence.picked_at, School.district, School.block, Project.campaign_id,
                   TemplateTask.key)
            .join(Task, Task.id == Evidence.task_id)
            .join(Project, Project.id == Task.project_id)
            .join(School, School.id == Project.school_id)
            .outerjoin(TemplateTask, TemplateTask.id == Task.template_task_id)
        ).all()


def expected(db, district=None, block=None, task=None, picked=False):
    rows = [r for r in photo_rows(db) if r.kind == "photo" and r.status == "stored"
            and (district is None or r.district == district)
            and (block is None or r.block == block) and (task is None or r.key == task)
            and (not picked or r.picked_at is not None)]
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


def add_photos(db, tmp_path, code, count, kind="photo", content_type="image/png",
               status="stored", caption=None, position=2):
    """More evidence for one school's task at `position`, a day apart, newest last."""
    ids = []
    with db.transaction() as session:
        task = session.scalars(
            select(Task).join(Project, Project.id == Task.project_id)
            .join(School, School.id == Project.school_id)
            .where(School.code == code, Task.position == position)).one()
        for n in range(count):
            name = f"{code}-{kind}-{n}.bin"
            (tmp_path / "media" / name).write_bytes(PNG)
            evidence = Evidence(task_id=task.id, kind=kind, content_type=content_type,
                                size=len(PNG), path=name, status=status, caption=caption,
                                created_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
                                + dt.timedelta(days=n))
            session.add(evidence)
            session.flush()
            ids.append(evidence.id)
    return ids


def test_the_gallery_shows_exactly_the_photos_of_the_filter(app, db, world, tmp_path):
    add_photos(db, tmp_path, "SAKO1", 3, position=1)  # another task, in Koregaon
    add_photos(db, tmp_path, "PUHA1", 2)  # Pune
    add_photos(db, tmp_path, "SAWA1", 1, status="pending")  # not stored yet: never shown
    add_photos(db, tmp_path, "SAWA1", 1, kind="audio", content_type="audio/ogg")
    assert set(world.evidence_ids) <= set(expected(db))
    client = client_for(app, "state")
    cases = [({}, {}),
             ({"district": "Satara"}, {"district": "Satara"}),
             ({"district": "Satara", "block": "Wai"}, {"district": "Satara", "block": "Wai"}),
             ({"block": "Koregaon"}, {"block": "Koregaon"}),
             ({"task": "tell"}, {"task": "tell"}),
             ({"task": "pick", "district": "Satara"}, {"task": "pick", "district": "Satara"}),
             ({"district": "Pune", "task": "tell"}, {"district": "Pune", "task": "tell"}),
             ({"campaign": world.campaign_id}, {}),
             ({"campaign": world.campaign_id + 1}, None)]
    for query, wanted in cases:
        # Every filter but the other campaign's finds some photos: an empty page proves nothing.
        assert wanted is None or expected(db, **wanted), query
        html = client.get("/admin/evidence", query_string=query).get_data(as_text=True)
        assert shown_photos(html) == ([] if wanted is None else expected(db, **wanted)), query
    html = client.get("/admin/evidence").get_data(as_text=True)
    assert "Story time at ZP School Wai 1" in html and "Tell the story" in html
    assert 'value="tell"' in html and "Children retell it" in html  # the task menu


def test_each_user_sees_only_their_area(app, db, world, tmp_path):
    add_photos(db, tmp_path, "PUHA1", 2)
    for who, district, block in (("satara", "Satara", None), ("pune", "Pune", None),
                                 ("wai", "Satara", "Wai")):
        client = client_for(app, who)
        html = client.get("/admin/evidence").get_data(as_text=True)
        assert shown_photos(html) == expected(db, district=district, block=block), who
        # Asking for another area's photos narrows to nothing, never widens.
        html = client.get("/admin/evidence", query_string={"district": "Pune" if district ==
                                                           "Satara" else "Satara"})
        assert shown_photos(html.get_data(as_text=True)) == [], who
    html = client_for(app, "wai").get("/admin/evidence", query_string={"block": "Koregaon"})
    assert shown_photos(html.get_data(as_text=True)) == []


def test_the_gallery_pages_newest_first(app, db, world, tmp_path):
    from storage.gallery import PER_PAGE

    add_photos(db, tmp_path, "SAKO1", PER_PAGE + 5)
    client = client_for(app, "state")
    every = expected(db)
    first = client.get("/admin/evidence").get_data(as_text=True)
    assert shown_photos(first) == every[:PER_PAGE]
    assert "Older photos" in first and "Newer photos" not in first
    second = client.get("/admin/evidence?page=2").get_data(as_text=True)
    assert shown_photos(second) == every[PER_PAGE:2 * PER_PAGE]
    assert "Newer photos" in second and "Older photos" not in second
    filtered = client.get("/admin/evidence?block=Koregaon&page=2").get_data(as_text=True)
    assert shown_photos(filtered) == expected(db, block="Koregaon")[PER_PAGE:]
    assert "page=1" not in filtered and "block=Koregaon" in filtered  # links keep the filter


def test_a_photo_is_served_inside_the_scope_only(app, db, world, tmp_path):
    photos = {r.id: (r.district, r.block) for r in photo_rows(db)}
    wai = next(i for i, area in photos.items() if area == ("Satara", "Wai"))
    koregaon = next(i for i, area in photos.items() if area == ("Satara", "Koregaon"))
    state = client_for(app, "state")
    response = fetch(state, f"/admin/evidence/{wai}/photo")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "inline"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" not in response.headers["Cache-Control"]

    block = client_for(app, "wai")
    assert status_of(block, f"/admin/evidence/{wai}/photo") == 200
    assert status_of(block, f"/admin/evidence/{koregaon}/photo") == 404
    pune = client_for(app, "pune")
    for evidence_id in (wai, koregaon):
        assert status_of(pune, f"/admin/evidence/{evidence_id}/photo") == 404
    assert state.get("/admin/evidence/999999/photo").status_code == 404
    assert app.test_client().get(f"/admin/evidence/{wai}/photo").status_code == 302


def test_only_images_are_shown_inline(app, db, world, tmp_path):
    (page,) = add_photos(db, tmp_path, "SAWA0", 1, kind="document", content_type="text/html")
    (svg,) = add_photos(db, tmp_path, "SAWA1", 1, content_type="image/svg+xml")
    client = client_for(app, "state")
    for evidence_id in (page, svg):
        response = fetch(client, f"/admin/evidence/{evidence_id}/photo")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_outside_the_media_folder_is_never_served(app, db, world, tmp_path):
    with db.transaction() as session:
        session.get(Evidence, world.evidence_ids[0]).path = "../../etc/passwd"
    client = client_for(app, "state")
    assert status_of(client, f"/admin/evidence/{world.evidence_ids[0]}/photo") == 404


def test_headmasters_words_are_escaped(app, db, world, tmp_path):
    add_photos(db, tmp_path, "SAWA1", 1, caption="<img src=x onerror=alert(1)> our tree")
    html = client_for(app, "state").get("/admin/evidence").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Children now retell" in html
    assert "&lt;img src=x onerror=alert(1)&gt; our tree" in html
    assert SCRIPT_STORY not in html


def test_stories_shared_in_the_scope(app, db, world):
    with db.transaction() as session:
        # A story its headmaster did not agree to share is never shown.
        project = session.get(Project, world.schools["SAKO0"][2])
        project.story, project.share_story = "Private words", False
    html = client_for(app, "state").get("/admin/evidence").get_data(as_text=True)
    assert shown_stories(html) == [world.script_project_id]
    assert "Private words" not in html
    assert shown_stories(client_for(app, "wai").get("/admin/evidence").get_data(
        as_text=True)) == [world.script_project_id]
    assert shown_stories(client_for(app, "pune").get("/admin/evidence").get_data(
        as_text=True)) == []


def test_the_state_team_picks_photos_and_stories(app, db, world):
    client = client_for(app, "state")
    photo = world.evidence_ids[0]
    html = client.get("/admin/evidence").get_data(as_text=True)
    assert "Pick to celebrate" in html
    back = "/admin/evidence?district=Satara"
    response = client.post(f"/admin/evidence/{photo}/pick",
                           data={"csrf_token": csrf(client), "picked": "1", "next": back})
    assert response.status_code == 302 and response.headers["Location"].endswith(back)
    response = client.post(f"/admin/projects/{world.script_project_id}/pick-story",
                           data={"csrf_token": csrf(client), "picked": "1",
                                 "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/admin/evidence")  # never off the site
    with db.sessions() as session:
        assert session.get(Evidence, photo).picked_at is not None
        assert session.get(Project, world.script_project_id).story_picked_at is not None
    html = client.get("/admin/evidence?picked=1").get_data(as_text=True)
    assert "Story picked" in html  # the flash
    assert shown_photos(html) == [photo] and shown_stories(html) == [world.script_project_id]
    assert "Unpick" in html

    client.post(f"/admin/evidence/{photo}/pick", data={"csrf_token": csrf(client),
                                                       "picked": "0"})
    with db.sessions() as session:
        assert session.get(Evidence, photo).picked_at is None
    # A story nobody agreed to share cannot be picked.
    other = world.schools["SAKO0"][2]
    response = client.post(f"/admin/projects/{other}/pick-story",
                           data={"csrf_token": csrf(client), "picked": "1"})
    assert response.status_code == 404
    assert client.post(f"/admin/evidence/{photo}/pick",
                       data={"picked": "1"}).status_code == 400  # no CSRF token


@pytest.mark.parametrize("who", ["satara", "wai"])
def test_only_the_state_team_picks(app, db, world, who):
    client = client_for(app, who)
    html = client.get("/admin/evidence").get_data(as_text=True)
    assert shown_photos(html) and shown_stories(html)
    assert "Pick to celebrate" not in html and "/pick" not in html
    photo = world.evidence_ids[0]
    assert client.post(f"/admin/evidence/{photo}/pick",
                       data={"csrf_token": csrf(client), "picked": "1"}).status_code == 403
    assert client.post(f"/admin/projects/{world.script_project_id}/pick-story",
                       data={"csrf_token": csrf(client), "picked": "1"}).status_code == 403
    with db.sessions() as session:
        assert session.get(Evidence, photo).picked_at is None
        assert session.get(Project, world.script_project_id).story_picked_at is None


def test_celebrate_sends_the_stories_picked_on_the_dashboard(app, db, world, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    runner = CliRunner()
    assert "picked on the dashboard" in runner.invoke(main, ["celebrate", "--help"]).output
    result = runner.invoke(main, ["celebrate", "--audience", "district:satara"])
    assert result.exit_code != 0 and "no story is picked" in result.output

    with db.transaction() as session:
        other = session.get(Project, world.schools["SAKO0"][2])
        other.story, other.share_story = "Parents now read with children", True
    client = client_for(app, "state")
    for project_id in (world.schools["SAKO0"][2], world.script_project_id):
        client.post(f"/admin/projects/{project_id}/pick-story",
                    data={"csrf_token": csrf(client), "picked": "1"})
    with db.transaction() as session:  # picked in this order
        session.get(Project, world.schools["SAKO0"][2]).story_picked_at = dt.datetime(
            2026, 11, 1, tzinfo=dt.UTC)
    result = runner.invoke(main, ["celebrate", "--audience", "district:satara"])
    assert result.exit_code == 0, result.output
    assert "celebrating the 2 stories picked on the dashboard" in result.output
    with db.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.key == "celebration.stories")).first()
        from storage.models import Broadcast
        message = session.get(Broadcast, row.broadcast_id).message
        picked = session.scalars(select(Project.id).where(
            Project.story_picked_at.is_not(None))).all()
    assert [s["story"] for s in message["stories"]] == ["Parents now read with children",
                                                        SCRIPT_STORY]
    assert picked == []  # celebrated, so unpicked
    assert "audience 6" in result.output  # Satara's six headmasters


def test_celebrate_with_projects_ignores_the_picks(app, db, world, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    with db.transaction() as session:
        other = session.get(Project, world.schools["SAKO0"][2])
        other.story, other.share_story = "Parents now read with children", True
        other.story_picked_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    result = CliRunner().invoke(main, ["celebrate", "--project", str(world.script_project_id),
                                       "--audience", "all"])
    assert result.exit_code == 0, result.output
    with db.sessions() as session:
        from storage.models import Broadcast
        message = session.scalars(select(Broadcast.message)).one()
        still = session.get(Project, world.schools["SAKO0"][2]).story_picked_at
    assert [s["story"] for s in message["stories"]] == [SCRIPT_STORY]
    assert still is not None  # not celebrated, still picked
