"""The dashboard against hostile or careless input: scopes that must not leak (a block name
shared by two districts), requests that must get a clear 4xx and never a 500 (ids past BIGINT,
"²" for a number, NUL characters PostgreSQL refuses, over-long text, dates at the ends of the
calendar), and sign-in's session, CSRF token and `next` redirect."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.sheets.spreadsheets import XLSX_TYPE
from storage.admin_users import UserError, add_user
from storage.models import (
    Broadcast,
    Campaign,
    Evidence,
    LoginAttempt,
    Outbox,
    Person,
    Project,
    School,
    Task,
)
from storage.scope import Scope
from tests import admin_support
from tests.admin_support import (
    PASSWORD,
    USERS,
    add_users,
    build_world,
    client_for,
    csrf,
    csrf_of,
    make_app,
    make_user,
    sign_in,
)

HUGE = "9" * 30  # past BIGINT: SQLite and PostgreSQL refuse to compare an id with it
HEADER = "role,name,phone,language,school_code,school_name,district,block,cluster"


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


def fetch(client, url):
    """GET, reading and closing the response (a served file stays open until then)."""
    with client.get(url) as response:
        response.get_data()
        return response


def text_of(response) -> str:
    """A page, a CSV file or an Excel workbook's cells, as text."""
    if response.mimetype == XLSX_TYPE:
        workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        cells = [str(value) for row in workbook.active.iter_rows(values_only=True)
                 for value in row]
        workbook.close()
        return " ".join(cells)
    return response.get_data(as_text=True)


def codes_on(text: str) -> set[str]:
    """The school codes build_world makes (SAWA0, PUWA2...) found in a page or file."""
    return set(re.findall(r"\b(?:SA|PU)[A-Z]{2}\d\b", text))


def evidence_of(db, code: str) -> list[int]:
    with db.sessions() as session:
        return list(session.scalars(
            select(Evidence.id).join(Task, Task.id == Evidence.task_id)
            .join(Project, Project.id == Task.project_id)
            .join(School, School.id == Project.school_id).where(School.code == code)))


# --- A block name in two districts ------------------------------------------------------------


@pytest.fixture
def two_wais(db, tmp_path, monkeypatch):
    """build_world with a block Wai in Pune as well as in Satara. The users are made first,
    while the roster is empty, as they would be before a later roster added Pune's Wai."""
    add_users(db)
    make_user(db, "beo.satara.wai@example.org", "block", "Satara/Wai")
    monkeypatch.setattr(admin_support, "AREAS", (*admin_support.AREAS, ("Pune", "Wai")))
    return build_world(db, tmp_path / "media")


def scoped_urls(world, db) -> list[str]:
    campaign = world.campaign_id
    pune_wai = world.codes_in("Pune", "Wai")
    return [
        "/admin/", f"/admin/campaigns/{campaign}",
        f"/admin/campaigns/{campaign}/districts/Pune",
        f"/admin/campaigns/{campaign}/districts/Pune/blocks/Wai",
        f"/admin/campaigns/{campaign}/districts/%20pune%20/blocks/WAI?silent=1",
        f"/admin/campaigns/{campaign}/districts/Satara/blocks/Wai",
        *(f"/admin/schools/{code}" for code in pune_wai),
        *(f"/admin/projects/{world.schools[code][2]}" for code in pune_wai),
        "/admin/evidence", "/admin/evidence?district=Pune", "/admin/evidence?block=Wai",
        "/admin/evidence?district=Pune&block=Wai", "/admin/delivery?period=all",
        "/admin/exports?district=Pune&block=Wai",
        "/admin/exports/projects.csv", "/admin/exports/tasks.csv",
        "/admin/exports/projects.xlsx", "/admin/exports/tasks.xlsx?block=Wai",
        "/admin/exports/projects.csv?district=Pune", "/admin/exports/projects.csv?block=WAI",
        "/admin/exports/tasks.csv?district=%20pune%20&block=wai",
        *(f"/admin/evidence/{i}/photo" for code in pune_wai for i in evidence_of(db, code)),
    ]


def test_a_block_user_named_by_district_and_block_sees_only_that_block(app, db, two_wais):
    world = two_wais
    pune_wai = set(world.codes_in("Pune", "Wai"))
    satara_wai = set(world.codes_in("Satara", "Wai"))
    assert pune_wai and satara_wai and evidence_of(db, sorted(pune_wai)[0])
    client = app.test_client()
    assert sign_in(client, "beo.satara.wai@example.org").status_code == 302
    seen: set[str] = set()
    for url in scoped_urls(world, db):
        response = fetch(client, url)
        assert response.status_code in (200, 404), url
        text = text_of(response)
        assert not codes_on(text) & pune_wai, url
        seen |= codes_on(text)
    assert satara_wai <= seen  # their own block is there
    # Delivery counts the messages to Satara's Wai, not Pune's.
    with db.sessions() as session:
        messages = session.scalar(
            select(func.count()).select_from(Outbox).join(Person, Person.id == Outbox.person_id)
            .join(School, School.id == Person.school_id)
            .where(School.district == "Satara", School.block == "Wai"))
    html = client.get("/admin/delivery?period=all").get_data(as_text=True)
    assert f'<div class="n">{messages}</div><div class="l">Messages</div>' in html


def test_a_block_named_alone_is_refused_once_its_name_is_in_two_districts(app, db, two_wais):
    # "wai" was made with --scope Wai when only Satara had a Wai: it must not now see Pune's.
    world = two_wais
    client = client_for(app, "wai")
    for url in scoped_urls(world, db):
        response = fetch(client, url)
        assert response.status_code == 403, url
        assert not codes_on(text_of(response)), url
    assert "DISTRICT/BLOCK" in client.get("/admin/").get_data(as_text=True)
    assert client.post("/admin/logout", data={"csrf_token": csrf(client)}).status_code == 302


def test_a_block_named_alone_is_pinned_to_its_only_district(app, db, world, tmp_path):
    with db.transaction() as session:
        scope, problem = Scope.of("block", " WAI ").pinned(session)
    assert (scope, problem) == (Scope("satara", "wai"), None)
    # A block no school has yet shows nothing, whatever is asked for.
    make_user(db, "nowhere@example.org", "block", "Nowhere")
    client = app.test_client()
    sign_in(client, "nowhere@example.org")
    for url in ("/admin/", f"/admin/campaigns/{world.campaign_id}", "/admin/delivery?period=all",
                "/admin/exports", "/admin/exports/tasks.xlsx",
                "/admin/evidence?district=Pune", "/admin/evidence?district=Pune&block=Haveli",
                "/admin/exports/projects.csv?district=Pune&block=Haveli",
                f"/admin/campaigns/{world.campaign_id}/districts/Pune/blocks/Haveli"):
        response = fetch(client, url)
        assert response.status_code in (200, 404) and not codes_on(text_of(response)), url


def test_narrowing_nothing_stays_nothing():
    nothing = Scope(nothing=True)
    assert nothing.narrowed("Pune").nothing and nothing.narrowed(None, "Wai").nothing
    assert nothing.narrowed("Pune", "Wai").nothing
    assert not nothing.holds("Pune", "Wai")


def test_user_add_refuses_a_block_name_two_districts_share(db, two_wais):
    with db.transaction() as session, pytest.raises(UserError, match="Pune/Wai"):
        add_user(session, "beo.wai2@example.org", PASSWORD, "block", "Wai")
    with db.transaction() as session:
        user, created = add_user(session, "beo.pune.wai@example.org", PASSWORD, "block",
                                 "Pune/Wai")
    assert created and user.scope == "Pune/Wai"


# --- Bad input: a clear 4xx, never a 500 ------------------------------------------------------


def test_ids_past_bigint_are_not_found(app, world):
    client = client_for(app, "state")
    for url in (f"/admin/campaigns/{HUGE}", f"/admin/campaigns/{2**63}",
                f"/admin/campaigns/{HUGE}/districts/Satara",
                f"/admin/campaigns/{HUGE}/districts/Satara/blocks/Wai",
                f"/admin/projects/{HUGE}", f"/admin/evidence/{HUGE}/photo",
                f"/admin/broadcasts/{HUGE}", f"/admin/evidence?campaign={HUGE}"):
        assert fetch(client, url).status_code == 404, url
    for url in (f"/admin/evidence/{HUGE}/pick", f"/admin/projects/{HUGE}/pick-story"):
        assert client.post(url, data={"csrf_token": csrf(client)}).status_code == 404, url
    response = fetch(client, f"/admin/exports/projects.csv?campaign={HUGE}")
    assert response.status_code == 400
    assert "no campaign" in response.get_data(as_text=True)
    assert fetch(client, f"/admin/exports?campaign={HUGE}").status_code == 200


def test_numbers_that_are_not_ascii_digits_are_not_numbers(app, world):
    # "²".isdigit() is True, but int("²") raises.
    client = client_for(app, "state")
    campaign = world.campaign_id
    for url in (f"/admin/campaigns/{campaign}/districts/Satara?silent=1&page=²",
                f"/admin/campaigns/{campaign}/districts/Satara/blocks/Wai?page={HUGE}",
                "/admin/schools/SAWA0?campaign=²", f"/admin/schools/SAWA0?campaign={HUGE}",
                "/admin/evidence?campaign=²", "/admin/evidence?page=²",
                "/admin/evidence?stories=²", f"/admin/evidence?stories={HUGE}",
                "/admin/delivery?campaign=²", "/admin/broadcasts?page=²",
                f"/admin/broadcasts?page={HUGE}", "/admin/exports?campaign=²"):
        assert fetch(client, url).status_code == 200, url
    response = fetch(client, "/admin/exports/projects.csv?campaign=²")
    assert response.status_code == 400
    assert "campaign must be a campaign" in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["state", "satara", "wai"])
def test_a_nul_character_is_refused_before_any_query(app, world, who):
    # PostgreSQL refuses NUL in any text it compares or stores.
    client = client_for(app, who)
    campaign = world.campaign_id
    for url in (f"/admin/campaigns/{campaign}/districts/Sat%00ara",
                f"/admin/campaigns/{campaign}/districts/Satara/blocks/W%00ai",
                "/admin/schools/SA%00WA0", "/admin/evidence?district=P%00une",
                "/admin/evidence?block=W%00ai", "/admin/evidence?task=t%00",
                "/admin/exports?district=P%00une", "/admin/exports/projects.csv?district=P%00une",
                "/admin/exports/tasks.xlsx?block=%00"):
        response = fetch(client, url)
        assert response.status_code == 400, url
        assert "NUL" in response.get_data(as_text=True)
    if who == "state":
        for url, data in (("/admin/campaigns/new", {"template": "retell", "start": "2026-12-01",
                                                    "audience": "district:Sat\x00ara"}),
                          ("/admin/broadcasts/new", {"role": "headmaster", "audience": "all",
                                                     "message_en": "Hello\x00"})):
            response = client.post(url, data={"csrf_token": csrf(client), "step": "review",
                                              **data})
            assert response.status_code == 400, url


def test_a_csrf_token_with_other_characters_is_refused_not_a_crash(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    sign_in(client, "state@example.org")
    for token in ("é", "प्रवेश", "\x00"):
        assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 400
    assert client.get("/admin/").status_code == 200


def test_a_confirmation_token_with_other_characters_is_refused_not_a_crash(app, db, world):
    client = client_for(app, "state")
    for url, data in (("/admin/campaigns/new", {"template": "retell", "start": "2026-12-01",
                                                "audience": "block:Wai", "version": "1"}),
                      ("/admin/broadcasts/new", {"role": "headmaster", "audience": "block:Wai",
                                                 "message_en": "Hello"})):
        review = client.post(url, data={"csrf_token": csrf(client), "step": "review", **data})
        assert review.status_code == 200, url
        confirm = client.post(url, data={"csrf_token": csrf(client), "once": "é",
                                         "step": "launch" if "campaigns" in url else "send",
                                         **data})
        assert confirm.status_code == 422, url
        assert "already confirmed, or its review is out of date" in confirm.get_data(
            as_text=True)


def test_a_long_email_at_sign_in_is_a_failed_sign_in(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    assert sign_in(client, "a" * 300 + "@example.org", "guess").status_code == 401
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def roster_post(client, body: bytes, skip: bool = False):
    data = {"csrf_token": csrf(client), "file": (io.BytesIO(body), "roster.csv")}
    if skip:
        data["skip_invalid"] = "1"
    return client.post("/admin/roster", data=data, content_type="multipart/form-data")


def people(db) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def test_roster_rows_the_database_cannot_hold_are_reasons_not_a_crash(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    sign_in(client, "state@example.org")
    good = "headmaster,Asha Patil,98220 12345,mr,2725010,ZP School Wagholi,Pune,Haveli,Wagholi"
    bad = [
        "headmaster,Imran\x00Shaikh,98220 12347,hi,2725011,ZP School Lohegaon,Pune,Haveli,L",
        f"headmaster,{'N' * 300},98220 12348,hi,2725012,ZP School Kharadi,Pune,Haveli,K",
        f"headmaster,Ravi Kale,98220 12349,hi,2725013,ZP School Undri,{'D' * 200},Haveli,U",
        f"headmaster,Sita Rao,98220 12350,hi,{'C' * 100},ZP School Hadapsar,Pune,Haveli,H",
    ]
    body = "\n".join([HEADER, good, *bad]).encode()
    response = roster_post(client, body)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "row 3: name has a NUL character" in text
    assert "row 4: name is longer than 255 characters" in text
    assert "row 5: district is longer than 128 characters" in text
    assert "row 6: school_code is longer than 64 characters" in text
    assert people(db) == 0
    response = roster_post(client, body, skip=True)
    assert response.status_code == 200
    assert people(db) == 1


def test_a_csv_cell_too_big_to_read_is_a_reason_not_a_crash(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    sign_in(client, "state@example.org")
    huge = "headmaster," + "N" * (csv.field_size_limit() + 1) + ",98220 12345,mr,1,S,P,H,C"
    response = roster_post(client, f"{HEADER}\n{huge}\n".encode())
    assert response.status_code == 422
    assert "could not be read as CSV" in response.get_data(as_text=True)


def test_dates_at_the_ends_of_the_calendar_are_refused(app, world):
    client = client_for(app, "state")
    for start in ("9999-12-31", "0001-01-01"):
        response = client.post("/admin/campaigns/new", data={
            "csrf_token": csrf(client), "step": "review", "template": "retell",
            "audience": "block:Wai", "start": start})
        assert response.status_code == 422, start
        assert "more than ten years from today" in response.get_data(as_text=True)
    response = client.post("/admin/broadcasts/new", data={
        "csrf_token": csrf(client), "step": "review", "role": "headmaster", "audience": "all",
        "message_en": "Hello", "send_at": "0001-01-01T00:00"})
    assert response.status_code == 422
    assert "is not a date and time to send at" in response.get_data(as_text=True)


# --- Sign-in: the session, the CSRF token, where it leads -------------------------------------


def test_signing_in_gives_a_new_csrf_token(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    before = csrf_of(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/login", data={"email": "state@example.org", "password": PASSWORD,
                                      "csrf_token": before})
    assert client.get("/admin/").status_code == 200
    after = csrf(client)
    assert after != before
    # The token from before sign-in does not work for a signed-in form.
    assert client.post("/admin/logout", data={"csrf_token": before}).status_code == 400
    assert client.post("/admin/logout", data={"csrf_token": after}).status_code == 302


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example/admin/", "/admin@evil.example", "/\\evil.example",
    "/admin\\..\\..\\evil.example", "/admin/\\\\evil.example", "/admin/\r\nX-Evil: 1",
    "/admin/\t/evil.example", "/administrator", " /admin/", "javascript:alert(1)//admin/",
])
def test_sign_in_never_leads_off_the_dashboard(app, db, target):
    make_user(db, "state@example.org")
    client = app.test_client()
    token = csrf_of(client.get("/admin/login").get_data(as_text=True))
    response = client.post("/admin/login", query_string={"next": target},
                           data={"email": "state@example.org", "password": PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_sign_in_leads_back_to_the_page_asked_for(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    login = client.get("/admin/evidence?picked=1").headers["Location"]
    token = csrf_of(client.get(login).get_data(as_text=True))
    response = client.post(login, data={"email": "state@example.org", "password": PASSWORD,
                                        "csrf_token": token})
    assert response.headers["Location"] == "/admin/evidence?picked=1"


def test_a_pick_never_leads_off_the_dashboard(app, world):
    client = client_for(app, "state")
    photo = world.evidence_ids[0]
    for target in ("//evil.example", "/admin/x\r\nX-Evil: 1", "/admin/\\\\evil.example",
                   "https://evil.example/admin/"):
        response = client.post(f"/admin/evidence/{photo}/pick",
                               data={"csrf_token": csrf(client), "next": target})
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/admin/evidence", target
    response = client.post(f"/admin/evidence/{photo}/pick",
                           data={"csrf_token": csrf(client), "next": "/admin/evidence?page=2"})
    assert response.headers["Location"] == "/admin/evidence?page=2"


@pytest.mark.parametrize("who", [who for who in USERS if who != "state"])
def test_only_the_state_team_may_post_and_every_post_needs_the_token(app, world, who):
    client = client_for(app, who)
    posts = ("/admin/roster", "/admin/templates", "/admin/campaigns/new",
             "/admin/broadcasts/new", f"/admin/evidence/{world.evidence_ids[0]}/pick",
             f"/admin/projects/{world.script_project_id}/pick-story")
    for url in posts:
        assert client.post(url, data={"csrf_token": csrf(client)}).status_code == 403, url
        assert client.post(url, data={}).status_code == 400, url


def test_a_get_never_changes_anything(app, db, world):
    client = client_for(app, "state")
    photo, story = world.evidence_ids[0], world.script_project_id
    for url in (f"/admin/evidence/{photo}/pick", f"/admin/projects/{story}/pick-story",
                "/admin/logout"):
        assert client.get(url).status_code == 405, url
    args = {"step": "launch", "template": "retell", "audience": "all", "start": "2026-12-01",
            "version": "1", "role": "headmaster", "message_en": "Hello", "picked": "1"}
    for url in ("/admin/campaigns/new", "/admin/broadcasts/new", "/admin/roster",
                "/admin/templates", "/admin/evidence", f"/admin/projects/{story}"):
        assert client.get(url, query_string={**args, "step": "send"}).status_code == 200, url
        assert client.get(url, query_string=args).status_code == 200, url
    assert client.get("/admin/").status_code == 200  # still signed in
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
        assert session.scalar(select(func.count()).select_from(Evidence)
                              .where(Evidence.picked_at.is_not(None))) == 0
        assert session.get(Project, story).story_picked_at is None
