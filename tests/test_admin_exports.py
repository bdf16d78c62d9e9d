"""/admin/exports: project and task spreadsheets, always within the user's scope.

Expected rows are counted straight from the rows build_world made (the ORM, not the export's
query), and every download is read back with the csv module or openpyxl.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.web.admin import exports as export_views
from storage.exports import PROJECT_COLUMNS, TASK_COLUMNS
from storage.models import Evidence, Project, School, TaskEvent
from tests.admin_support import NOW, build_world, make_app, make_user, sign_in

BASE = "http://localhost/"


@pytest.fixture
def app(db, tmp_path, monkeypatch):
    app = make_app(db, tmp_path / "media")
    monkeypatch.setattr(export_views, "now", lambda: NOW)  # "silent" counts from the world's now
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def world(db, tmp_path):
    return build_world(db, tmp_path / "media")


def client_of(app, db, role: str = "state", scope: str | None = None):
    email = f"{role}-{(scope or 'all').lower()}@example.org"
    make_user(db, email, role, scope)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


class Download:
    """A response read and closed (a served file stays open until its response is closed)."""

    def __init__(self, client, url: str):
        with client.get(url) as response:
            self.status_code = response.status_code
            self.mimetype = response.mimetype
            self.headers = response.headers
            self.data = response.get_data()

    def get_data(self, as_text: bool = False) -> Any:
        return self.data.decode() if as_text else self.data


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # Excel's cue that the file is UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def read_xlsx(response) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = [tuple("" if v is None else v for v in row) for row in workbook.active.values]
    workbook.close()
    return rows


def _iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def expected_projects(db, codes: list[str]) -> list[tuple[Any, ...]]:
    """The projects of these schools, as the export should write them."""
    with db.sessions() as session:
        projects = session.scalars(
            select(Project).join(School).where(School.code.in_(codes)).order_by(Project.id)
        ).all()
        rows = []
        for p in projects:
            template = p.campaign.template
            kept = [e for t in p.tasks for e in session.scalars(
                select(Evidence).where(Evidence.task_id == t.id)) if e.status != "rejected"]
            rows.append((
                p.campaign.name, f"{template.slug}@{template.version}", p.school.district,
                p.school.block, p.school.code, p.school.name, p.headmaster.name,
                p.headmaster.phone, p.status, sum(t.status == "completed" for t in p.tasks),
                len(p.tasks), len(kept), _iso(p.started_at), _iso(p.completed_at),
                _iso(p.last_reply_at), _iso(_heard(p))))
        return rows


def expected_tasks(db, codes: list[str]) -> list[tuple[Any, ...]]:
    """The tasks of these schools' projects, as the export should write them."""
    with db.sessions() as session:
        projects = session.scalars(
            select(Project).join(School).where(School.code.in_(codes)).order_by(Project.id)
        ).all()
        rows = []
        for p in projects:
            for t in p.tasks:
                evidence = session.scalars(
                    select(Evidence).where(Evidence.task_id == t.id).order_by(Evidence.id)).all()
                notes = session.scalars(
                    select(TaskEvent.note).where(TaskEvent.task_id == t.id,
                                                 TaskEvent.note.is_not(None))
                    .order_by(TaskEvent.at, TaskEvent.id)).all()
                remarks = [t.remarks] if t.remarks else []
                remarks += [n for n in notes if n not in remarks]
                rows.append((
                    p.campaign.name, p.school.district, p.school.block, p.school.code,
                    p.school.name, t.position, t.template_task.title["en"], t.origin,
                    "yes" if t.mandatory else "no", t.status,
                    t.due_on.isoformat() if t.due_on else "", _iso(t.prompted_at),
                    _iso(t.completed_at), _iso(t.status_changed_at),
                    len([e for e in evidence if e.status != "rejected"]),
                    " ".join(f"{BASE}admin/evidence/{e.id}/photo" for e in evidence
                             if e.status == "stored"),
                    " | ".join(remarks)))
        return rows


def as_text(rows: list[tuple[Any, ...]]) -> list[list[str]]:
    return [[str(value) for value in row] for row in rows]


# -- what the files hold -----------------------------------------------------------------------


def test_projects_csv_and_xlsx_hold_every_project_with_the_cli_columns(app, db, world):
    client = client_of(app, db)
    expected = expected_projects(db, world.codes_in())

    rows = read_csv(Download(client, "/admin/exports/projects.csv"))
    assert tuple(rows[0]) == PROJECT_COLUMNS
    assert rows[1:] == as_text(expected)
    assert len(rows) - 1 == len(world.schools)

    url = f"/admin/exports/projects.xlsx?campaign={world.campaign_id}"
    sheet = read_xlsx(Download(client, url))
    assert sheet[0] == PROJECT_COLUMNS
    assert sheet[1:] == expected


def test_tasks_export_has_titles_photo_links_and_remarks(app, db, world):
    client = client_of(app, db)
    expected = expected_tasks(db, world.codes_in())

    rows = read_csv(Download(client, "/admin/exports/tasks.csv"))
    assert tuple(rows[0]) == TASK_COLUMNS
    assert rows[1:] == as_text(expected)
    assert len(rows) - 1 == 3 * len(world.schools)
    sheet = read_xlsx(Download(client, "/admin/exports/tasks.xlsx"))
    assert sheet[0] == TASK_COLUMNS and sheet[1:] == expected

    # The photos are linked, and each link opens the photo for a signed-in user.
    links = [link for row in rows[1:] for link in row[15].split()]
    assert sorted(links) == sorted(f"{BASE}admin/evidence/{i}/photo" for i in world.evidence_ids)
    assert Download(client, links[0].removeprefix(BASE[:-1])).status_code == 200
    # The headmaster's remark (a script, kept as text) and their note on completing.
    sawa0 = [row for row in rows[1:] if row[3] == "SAWA0"]
    assert sawa0[0][16] == "<b>bold</b> remark" and sawa0[1][16] == "done"


def test_a_formula_in_the_roster_stays_text(app, db, world):
    with db.transaction() as session:
        school = session.scalars(select(School).where(School.code == "SAWA0")).one()
        school.name = "=HYPERLINK(\"http://evil.example\")"
        other = session.scalars(select(School).where(School.code == "SAWA1")).one()
        other.name = "@SUM(1+1)"
    client = client_of(app, db)

    rows = read_csv(Download(client, "/admin/exports/projects.csv?block=Wai"))
    names = {row[4]: row[5] for row in rows[1:]}
    assert names["SAWA0"] == "'=HYPERLINK(\"http://evil.example\")"
    assert names["SAWA1"] == "'@SUM(1+1)"
    # A phone number starting with + is a number, not a formula: it is left alone.
    assert all(row[7].startswith("+91") for row in rows[1:])

    response = Download(client, "/admin/exports/projects.xlsx?block=Wai")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cells = {sheet.cell(row=r, column=5).value: sheet.cell(row=r, column=6)
             for r in range(2, sheet.max_row + 1)}
    assert cells["SAWA0"].value == "=HYPERLINK(\"http://evil.example\")"
    assert cells["SAWA0"].data_type == "s"


def test_file_names_say_what_and_when(app, db, world):
    client = client_of(app, db)
    response = Download(client, f"/admin/exports/projects.xlsx?campaign={world.campaign_id}")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"kadam-projects-{world.campaign_id}-" in disposition and ".xlsx" in disposition
    response = Download(client, "/admin/exports/tasks.csv?district=Satara&silent=1")
    assert "kadam-tasks-all-satara-silent-" in response.headers["Content-Disposition"]


# -- filters and scope -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_district_and_block_filters(app, db, world, fmt):
    client = client_of(app, db)
    read = read_csv if fmt == "csv" else read_xlsx
    for query, codes in (("district=Satara", world.codes_in("Satara")),
                         ("district=pune&block=MULSHI", world.codes_in("Pune", "Mulshi")),
                         ("block=Wai", world.codes_in("Satara", "Wai"))):
        rows = read(Download(client, f"/admin/exports/projects.{fmt}?{query}"))
        assert sorted(row[4] for row in rows[1:]) == codes, query
        tasks = read(Download(client, f"/admin/exports/tasks.{fmt}?{query}"))
        assert sorted({row[3] for row in tasks[1:]}) == codes, query


def test_a_district_user_gets_only_their_district(app, db, world):
    client = client_of(app, db, "district", "Satara")
    rows = read_csv(Download(client, "/admin/exports/projects.csv"))
    assert sorted(row[4] for row in rows[1:]) == world.codes_in("Satara")
    tasks = read_csv(Download(client, "/admin/exports/tasks.csv"))
    assert sorted({row[3] for row in tasks[1:]}) == world.codes_in("Satara")
    assert tasks[1:] == as_text(expected_tasks(db, world.codes_in("Satara")))
    # Narrowing works within the district ...
    rows = read_csv(Download(client, "/admin/exports/projects.csv?block=Koregaon"))
    assert sorted(row[4] for row in rows[1:]) == world.codes_in("Satara", "Koregaon")
    # ... and asking for another district or its block gets an empty file, not their data.
    for query in ("district=Pune", "block=Haveli", "district=Pune&block=Haveli"):
        for what in ("projects", "tasks"):
            url = f"/admin/exports/{what}"
            assert read_csv(Download(client, f"{url}.csv?{query}"))[1:] == [], query
            assert read_xlsx(Download(client, f"{url}.xlsx?{query}"))[1:] == [], query


def test_a_block_user_gets_only_their_block(app, db, world):
    client = client_of(app, db, "block", "Wai")
    wai = world.codes_in("Satara", "Wai")
    for query in ("", "district=Satara", "block=wai", "silent=0"):
        rows = read_xlsx(Download(client, f"/admin/exports/projects.xlsx?{query}"))
        assert sorted(row[4] for row in rows[1:]) == wai, query
    tasks = read_csv(Download(client, "/admin/exports/tasks.csv"))
    assert sorted({row[3] for row in tasks[1:]}) == wai
    for query in ("district=Other", "district=Pune", "block=Koregaon", "block=Haveli"):
        for what in ("projects", "tasks"):
            assert read_csv(Download(client, f"/admin/exports/{what}.csv?{query}"))[1:] == [], query


def _heard(p: Project) -> dt.datetime | None:
    """The last of anything the headmaster wrote, the last reply, the start, the invitation."""
    times = [t for t in (p.headmaster.last_inbound_at, p.last_reply_at, p.started_at,
                         p.invited_at) if t]
    return max(times) if times else None


def _silent(db, codes: list[str]) -> list[str]:
    """Silent as the officers' digests count it: waiting or running, nothing heard for 7 days."""
    with db.sessions() as session:
        projects = session.scalars(select(Project).join(School).where(School.code.in_(codes)))
        return sorted(
            p.school.code for p in projects
            if p.status in ("invited", "started", "in_progress")
            and _heard(p) < NOW - dt.timedelta(days=7))


def test_only_silent_schools(app, db, world):
    client = client_of(app, db)
    rows = read_csv(Download(client, "/admin/exports/projects.csv?silent=1"))
    codes = sorted(row[4] for row in rows[1:])
    assert codes == _silent(db, world.codes_in())
    # Waiting or running and not heard from for 7 days: in each block the school still running
    # (its last reply 8 days ago) and the one invited 10 days ago that never answered, and all
    # of Mulshi, which never started; not the completed schools (slot 0) nor Haveli's lapsed.
    assert codes == ["PUHA1", "PUHA2", "PUMU0", "PUMU1", "PUMU2", "SAKO1", "SAKO2", "SAWA1",
                     "SAWA2"]
    assert codes == sorted(world.silent_codes)
    tasks = read_csv(Download(client, "/admin/exports/tasks.csv?silent=1"))
    assert sorted({row[3] for row in tasks[1:]}) == codes

    block = client_of(app, db, "block", "Wai")
    rows = read_csv(Download(block, "/admin/exports/projects.csv?silent=1"))
    assert sorted(row[4] for row in rows[1:]) == ["SAWA1", "SAWA2"]


def test_status_filter(app, db, world):
    client = client_of(app, db)
    rows = read_csv(Download(client, "/admin/exports/projects.csv?status=submitted"))
    assert sorted(row[4] for row in rows[1:]) == sorted(
        code for code, (_, _, _, status) in world.schools.items() if status == "submitted")
    tasks = read_csv(Download(client, "/admin/exports/tasks.csv?status=lapsed"))
    assert {row[3] for row in tasks[1:]} == {
        code for code, (_, _, _, status) in world.schools.items() if status == "lapsed"}


def test_another_campaign_filters_to_nothing(app, db, world):
    client = client_of(app, db)
    url = f"/admin/exports/projects.csv?campaign={world.campaign_id + 1}"
    assert read_csv(Download(client, url))[1:] == []


def test_bad_arguments_are_refused_clearly(app, db, world):
    client = client_of(app, db)
    response = Download(client, "/admin/exports/projects.csv?campaign=abc")
    assert response.status_code == 400
    assert "campaign must be a campaign" in response.get_data(as_text=True)
    response = Download(client, "/admin/exports/tasks.xlsx?status=finished")
    assert response.status_code == 400 and "status must be one of" in response.get_data(
        as_text=True)
    assert Download(client, "/admin/exports/projects.pdf").status_code == 404
    assert Download(client, "/admin/exports/people.csv").status_code == 404


def test_a_stranger_is_sent_to_the_login(app, world):
    response = app.test_client().get("/admin/exports/projects.csv")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


# -- the page ----------------------------------------------------------------------------------


def test_the_page_offers_both_exports_within_the_scope(app, db, world):
    client = client_of(app, db, "district", "Satara")
    html = client.get("/admin/exports").get_data(as_text=True)
    assert "Retell the Tale, 2026" in html
    assert "/admin/exports/projects.xlsx" in html and "/admin/exports/tasks.csv" in html
    assert ">Wai<" in html and ">Koregaon<" in html
    assert "Haveli" not in html and "Pune" not in html  # another district's names stay out

    # The form's download buttons go on to the file, with the filters.
    response = client.get(f"/admin/exports?campaign={world.campaign_id}&block=Wai&silent=1"
                          "&status=&fmt=csv&what=tasks")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/admin/exports/tasks.csv?")
    assert f"campaign={world.campaign_id}" in location and "block=Wai" in location
    assert "silent=1" in location
    rows = read_csv(Download(client, location))
    assert sorted({row[3] for row in rows[1:]}) == _silent(db, world.codes_in("Satara", "Wai"))


def test_the_page_links_carry_the_filters(app, db, world):
    client = client_of(app, db)
    html = client.get("/admin/exports?district=Pune&silent=1").get_data(as_text=True)
    assert "/admin/exports/projects.csv?district=Pune&amp;silent=1" in html
