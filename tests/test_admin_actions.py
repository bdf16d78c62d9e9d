"""The state team's actions on /admin: roster and template uploads, launching a campaign and
sending a circular. Bad input is explained on the page and writes nothing; only the state
team may act; every form needs its CSRF token."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import io
import re
from typing import Any

import openpyxl
import pytest
import yaml
from sqlalchemy import func, select

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from storage.models import Broadcast, Campaign, Outbox, Person, Project, School, Template
from tests.admin_support import PASSWORD, csrf, make_app, make_user, sign_in
from tests.clock import NOW, TODAY, wall_today
from tests.factories import make_beo, make_headmaster, make_school, make_template

TEMPLATES = SHIPPED_TEMPLATES
ACTIONS = ("/admin/roster", "/admin/templates", "/admin/campaigns/new", "/admin/broadcasts/new")
HEADER = "role,name,phone,language,school_code,school_name,district,block,cluster"
GOOD_ROWS = [
    "headmaster,Asha Patil,98220 12345,mr,27250100101,ZP School Wagholi,Pune,Haveli,Wagholi",
    "headmaster,Imran Shaikh,98220 12347,hi,27250100102,ZP School Lohegaon,Pune,Haveli,Lohegaon",
    "BEO,Ravi Kale,+91 98220-12346,hi,,,Pune,Haveli,",
]


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def state(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    assert sign_in(client, "state@example.org").status_code == 302
    return client


def text_of(response) -> str:
    """The page's text, tags out and entities decoded, spaces squeezed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html_lib.unescape(body).split())


def post(client, url: str, data: dict[str, Any], **kwargs: Any):
    return client.post(url, data={"csrf_token": csrf(client), **data}, **kwargs)


def hidden_fields(response) -> list[tuple[str, str]]:
    """The confirm form's hidden fields, as the browser would send them back."""
    page = response.get_data(as_text=True)
    form = page[page.index('name="once"') - 200:]
    return [(html_lib.unescape(name), html_lib.unescape(value)) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)]


def count(db, model) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- who may act -------------------------------------------------------------------------------


@pytest.mark.parametrize("role, scope", [("district", "Pune"), ("block", "Haveli")])
def test_only_the_state_team_may_act(app, db, role, scope):
    make_user(db, "officer@example.org", role, scope)
    client = app.test_client()
    sign_in(client, "officer@example.org")
    for url in ACTIONS:
        assert client.get(url).status_code == 403, url
        assert post(client, url, {"step": "review", "audience": "all"}).status_code == 403, url
    # Their header offers none of these pages.
    page = client.get("/admin/exports").get_data(as_text=True)
    assert "/admin/roster" not in page and "/admin/campaigns/new" not in page


def test_every_action_needs_the_csrf_token(state, db):
    with db.transaction() as session:
        make_template(session)
        make_headmaster(session, make_school(session, "P1"))
    for url in ACTIONS:
        response = state.post(url, data={"step": "review", "audience": "all",
                                         "template": "clean-classrooms",
                                         "start": form_start(), "message_en": "Hello"})
        assert response.status_code == 400, url
        forged = state.post(url, data={"csrf_token": "forged", "audience": "all"})
        assert forged.status_code == 400, url
    assert count(db, Campaign) == 0 and count(db, Broadcast) == 0


def test_the_state_team_sees_the_action_pages(state):
    for url in ACTIONS:
        response = state.get(url)
        assert response.status_code == 200, url
        assert 'name="csrf_token"' in response.get_data(as_text=True)
    header = state.get("/admin/exports").get_data(as_text=True)
    for url in ("/admin/roster", "/admin/templates", "/admin/campaigns/new"):
        assert url in header


# -- roster ------------------------------------------------------------------------------------


def roster_csv(*rows: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(("\ufeff" + "\n".join([HEADER, *rows]) + "\n").encode()), "roster.csv"


def test_a_good_roster_is_imported_and_summarised(state, db):
    response = post(state, "/admin/roster", {"file": roster_csv(*GOOD_ROWS)},
                    content_type="multipart/form-data")

    assert response.status_code == 200
    text = text_of(response)
    assert "Imported roster.csv: 3 row(s)" in text
    assert "Schools 2 0" in text and "Headmasters 2 0" in text and "BEOs 1 0" in text
    with db.sessions() as session:
        phones = sorted(session.scalars(select(Person.phone)).all())
    assert phones == ["+919822012345", "+919822012346", "+919822012347"]

    again = post(state, "/admin/roster", {"file": roster_csv(*GOOD_ROWS)},
                 content_type="multipart/form-data")
    assert "Schools 0 2" in text_of(again) and "Headmasters 0 2" in text_of(again)


def test_a_bad_row_imports_nothing_and_says_which_row(state, db):
    rows = [*GOOD_ROWS[:2], "headmaster,Nobody,12345,en,X1,School X,Pune,Haveli,",
            "principal,Someone,98220 12349,en,X2,School Y,Pune,Haveli,"]

    response = post(state, "/admin/roster", {"file": roster_csv(*rows)},
                    content_type="multipart/form-data")

    assert response.status_code == 422
    text = text_of(response)
    assert "Nothing imported: 2 row(s) have errors" in text
    assert "row 4: phone '12345' is not a valid phone number" in text
    assert "row 5: role 'principal' is not one of" in text
    assert count(db, Person) == 0 and count(db, School) == 0


def test_skip_invalid_imports_the_good_rows_and_lists_the_others(state, db):
    rows = [GOOD_ROWS[0], "headmaster,Nobody,12345,en,X1,School X,Pune,Haveli,"]

    response = post(state, "/admin/roster", {"file": roster_csv(*rows), "skip_invalid": "1"},
                    content_type="multipart/form-data")

    assert response.status_code == 200
    text = text_of(response)
    assert "1 skipped" in text and "row 3: phone '12345' is not a valid phone number" in text
    assert "Schools 1 0" in text
    with db.sessions() as session:
        assert session.scalars(select(School.code)).all() == ["27250100101"]


def test_an_xlsx_roster_is_read_too(state, db):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["headmaster", "Asha Patil", 9822012345, "mr", 27250100101, "ZP School",
                  "Pune", "Haveli", ""])
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)

    response = post(state, "/admin/roster", {"file": (data, "roster.xlsx")},
                    content_type="multipart/form-data")

    assert response.status_code == 200, text_of(response)
    with db.sessions() as session:
        assert session.scalars(select(Person.phone)).all() == ["+919822012345"]


@pytest.mark.parametrize("upload, message", [
    (None, "Choose a roster file"),
    ((b"role,name\n", "roster.pdf"), "not a roster file"),
    ((b"role,name\nheadmaster,Asha\n", "roster.csv"),
     "roster.csv: the first row lacks the column(s) phone"),
    (("role,name\n".encode("utf-16"), "roster.csv"), "not UTF-8 text"),
    ((b"not a zip", "roster.xlsx"), "could not be read as an XLSX workbook"),
])
def test_a_file_that_cannot_be_read_is_explained(state, db, upload, message):
    data = {"file": (io.BytesIO(upload[0]), upload[1])} if upload else {}
    response = post(state, "/admin/roster", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in text_of(response)
    assert count(db, Person) == 0


# -- templates ---------------------------------------------------------------------------------


def template_file(document: Any, name: str = "retell.yaml") -> tuple[io.BytesIO, str]:
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
    return io.BytesIO(text.encode()), name


def shipped() -> dict[str, Any]:
    return yaml.safe_load((TEMPLATES / "retell-the-tale.yaml").read_text(encoding="utf-8"))


def test_a_template_is_loaded_versioned_and_listed(state, db):
    response = post(state, "/admin/templates", {"file": template_file(shipped())},
                    content_type="multipart/form-data")
    assert response.status_code == 200
    text = text_of(response)
    assert "Loaded retell-the-tale version 1 (7 tasks)" in text
    assert "retell-the-tale Retell the Tale 1 1 7" in text  # slug, title, version, versions

    same = post(state, "/admin/templates", {"file": template_file(shipped())},
                content_type="multipart/form-data")
    assert "retell-the-tale is unchanged: still version 1" in text_of(same)

    changed = shipped()
    changed["duration_days"] = 35
    response = post(state, "/admin/templates", {"file": template_file(changed)},
                    content_type="multipart/form-data")
    assert "Loaded retell-the-tale version 2" in text_of(response)
    assert "retell-the-tale Retell the Tale 2 2 7" in text_of(state.get("/admin/templates"))
    assert count(db, Template) == 2


def test_template_errors_name_every_bad_field_and_load_nothing(state, db):
    bad = shipped()
    bad["category"] = "huge"
    bad["tasks"][1]["day"] = -3
    bad["tasks"][2]["evidence"] = "video"

    response = post(state, "/admin/templates", {"file": template_file(bad)},
                    content_type="multipart/form-data")

    assert response.status_code == 422
    text = text_of(response)
    assert "retell.yaml: 3 errors; nothing loaded" in text
    page = response.get_data(as_text=True)
    for path in ("category", "tasks[1].day", "tasks[2].evidence"):
        assert f"<code>{path}</code>: " in page, path
    assert count(db, Template) == 0


@pytest.mark.parametrize("content, message", [
    ("slug: [unclosed\n", "invalid YAML at line"),
    ("- just\n- a list\n", "document : must be a mapping"),
])
def test_unreadable_templates_are_explained(state, db, content, message):
    response = post(state, "/admin/templates", {"file": template_file(content)},
                    content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in text_of(response)
    assert count(db, Template) == 0


# -- launch ------------------------------------------------------------------------------------


@pytest.fixture
def roster(db) -> None:
    """Pune/Haveli: P1, P2, P3 (its headmaster opted out), P4 (no headmaster);
    Pune/Mulshi: M1; Nagpur/Kamptee: N1."""
    with db.transaction() as session:
        make_template(session)
        for code, block in (("P1", "Haveli"), ("P2", "Haveli"), ("M1", "Mulshi")):
            make_headmaster(session, make_school(session, code, district="Pune", block=block),
                            language="mr" if code == "P2" else "en")
        make_headmaster(session, make_school(session, "P3", district="Pune", block="Haveli"),
                        opted_out_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        make_school(session, "P4", district="Pune", block="Haveli")
        make_headmaster(session, make_school(session, "N1", district="Nagpur", block="Kamptee"),
                        language="hi")
        make_beo(session, district="Pune", block="Haveli", language="mr")


def form_start() -> str:
    """A start for the launch form, which checks it against the real date (more than ten years
    from the real today is refused as a typo), as does the launch behind it: the real today."""
    return wall_today().isoformat()


def review_launch(client, audience: str = "block:Haveli\nschool:M1", **extra: str):
    return post(client, "/admin/campaigns/new",
                {"step": "review", "template": "clean-classrooms", "audience": audience,
                 "start": form_start(), **extra})


def test_the_review_counts_without_writing_and_the_confirm_launches_that_many(state, db, roster):
    start = form_start()
    review = review_launch(state, name="Monsoon drive", start=start)

    assert review.status_code == 200
    text = text_of(review)
    # P1, P2, P3 and M1 get a project; P3's headmaster opted out; P4 has no headmaster.
    assert "4 Schools get a project" in text and "3 Headmasters invited now" in text
    assert "1 school: no headmaster in roster (P4)" in text
    assert "1 school: headmaster opted out (project created, not messaged) (P3)" in text
    assert "Launch to 4 schools" in text
    assert count(db, Campaign) == 0 and count(db, Project) == 0 and count(db, Outbox) == 0

    fields = hidden_fields(review)
    assert ("audience", "block:Haveli") in fields and ("audience", "school:M1") in fields
    launched = state.post("/admin/campaigns/new", data=_multi(fields))

    assert launched.status_code == 200
    text = text_of(launched)
    assert "Monsoon drive" in text and "4 Projects created" in text
    assert "3 Headmasters invited" in text
    with db.sessions() as session:
        campaign = session.scalars(select(Campaign)).one()
        codes = session.scalars(select(School.code).join(Project).order_by(School.code)).all()
    assert campaign.name == "Monsoon drive"
    assert campaign.start_date == dt.date.fromisoformat(start)
    assert codes == ["M1", "P1", "P2", "P3"]
    assert f"/admin/campaigns/{campaign.id}" in launched.get_data(as_text=True)

    # The confirm is good once: sending it again (a reload) launches nothing more.
    again = state.post("/admin/campaigns/new", data=_multi(fields))
    assert again.status_code == 422 and "already confirmed" in text_of(again)
    assert count(db, Campaign) == 1 and count(db, Project) == 4


def _multi(fields: list[tuple[str, str]]) -> Any:
    from werkzeug.datastructures import MultiDict

    return MultiDict(fields)


def test_a_new_template_version_since_the_review_is_reviewed_again(state, db, roster):
    fields = hidden_fields(review_launch(state))
    with db.transaction() as session:
        make_template(session, version=2)

    response = state.post("/admin/campaigns/new", data=_multi(fields))

    assert "changed to version 2 since your review" in text_of(response)
    assert "Launch to 4 schools" in text_of(response)
    assert count(db, Campaign) == 0


def test_the_review_says_whose_language_the_template_lacks_before_anything_is_queued(
        state, db, roster):
    # The template speaks English only; P2's headmaster reads Marathi (P3's opted out, and
    # gets no message whatever the language).
    review = review_launch(state)

    text = text_of(review)
    assert "not written in every headmaster's language" in text
    assert "1 headmaster reads Marathi (मराठी)" in text
    assert "Launch to 4 schools anyway" in text
    assert count(db, Campaign) == 0 and count(db, Outbox) == 0

    launched = state.post("/admin/campaigns/new", data=_multi(hidden_fields(review)))
    assert "4 Projects created" in text_of(launched)


def test_the_review_has_no_language_warning_when_the_template_speaks_everyones(state, db, roster):
    text = text_of(review_launch(state, "school:P1\nschool:M1"))
    assert "not written in every headmaster's language" not in text
    assert "Launch to 2 schools" in text and "anyway" not in text


def test_an_unmatched_audience_is_refused_at_review_with_the_nearest_name(state, db, roster):
    text = text_of(review_launch(state, "district:Punee"))
    assert "district:Punee matches no school in the roster (did you mean district:Pune?)" in text
    assert "Nothing was launched" in text and "Launch to" not in text


@pytest.mark.parametrize("data, message", [
    ({"audience": "county:Pune"}, "is not one of: all, district:NAME"),
    ({"audience": "  "}, "Say who it is for"),
    ({"template": "nope"}, "No template 'nope' is loaded"),
    ({"template": ""}, "Choose a template"),
    ({"start": "1 July"}, "'1 July' is not a date"),
    ({"start": ""}, "Give the start date"),
    ({"name": "x" * 300}, "The name is too long"),
])
def test_bad_launch_input_is_explained_and_writes_nothing(state, db, roster, data, message):
    form = {"step": "review", "template": "clean-classrooms", "audience": "all",
            "start": form_start(), **data}
    for step in ("review", "launch"):
        response = post(state, "/admin/campaigns/new", {**form, "step": step})
        assert response.status_code == 422
        assert message in text_of(response)
    assert count(db, Campaign) == 0 and count(db, Project) == 0


# -- broadcast ---------------------------------------------------------------------------------


def review_broadcast(client, **extra: str):
    return post(client, "/admin/broadcasts/new",
                {"step": "review", "audience": "district:Pune", "role": "headmaster",
                 "message_en": "Schools close on Friday.", "message_mr": "शुक्रवारी शाळा बंद.",
                 **extra})


def test_the_broadcast_form_offers_the_roster_languages(state, db, roster):
    text = text_of(state.get("/admin/broadcasts/new"))
    assert "Message in English (required)" in text
    assert "Message in Marathi (मराठी) (optional)" in text
    assert "Message in Hindi (हिन्दी) (optional)" in text


def test_a_broadcast_is_reviewed_by_language_then_sent(state, db, roster):
    review = review_broadcast(state, send_at="2026-07-01T09:30")

    assert review.status_code == 200
    text = text_of(review)
    # Pune's headmasters: P1, P3 (opted out) and M1 read English, P2 Marathi.
    assert "4 People in the audience" in text and "3 Will be sent" in text
    assert "1 Opted out (not sent)" in text
    assert "English 3 written" in text and "Marathi (मराठी) 1 written" in text
    assert "Send to 3 people" in text
    assert count(db, Broadcast) == 0 and count(db, Outbox) == 0

    sent = state.post("/admin/broadcasts/new", data=_multi(hidden_fields(review)))

    with db.sessions() as session:
        broadcast = session.scalars(select(Broadcast)).one()
        rows = session.scalars(select(Outbox).where(Outbox.broadcast_id == broadcast.id)).all()
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/admin/broadcasts/{broadcast.id}")
    assert broadcast.message == {"en": "Schools close on Friday.", "mr": "शुक्रवारी शाळा बंद."}
    assert broadcast.audience == ["district:Pune"] and broadcast.role == "headmaster"
    # 09:30 in Asia/Kolkata is 04:00 UTC.
    assert broadcast.send_at == dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC)
    assert len(rows) == 4 and sum(r.status == "queued" for r in rows) == 3

    again = state.post("/admin/broadcasts/new", data=_multi(hidden_fields(review)))
    assert again.status_code == 422 and count(db, Broadcast) == 1


def test_a_language_without_text_is_pointed_out(state, db, roster):
    text = text_of(review_broadcast(state, audience="all", role="all", message_mr=""))
    assert "Marathi (मराठी) 2 not written" in text  # P2 and the BEO
    assert "Hindi (हिन्दी) 1 not written" in text


@pytest.mark.parametrize("data, message", [
    ({"message_en": ""}, "Write the message in English at least"),
    ({"audience": "district"}, "is not one of: all, district:NAME"),
    ({"role": "parents"}, "Send to one of headmaster, beo, all"),
    ({"media_url": "javascript:alert(1)"}, "is not a web address"),
    ({"send_at": "tomorrow"}, "'tomorrow' is not a date and time"),
    ({"message_zz": "Hello"}, "'zz' is not a language code"),
])
def test_bad_broadcast_input_is_explained_and_sends_nothing(state, db, roster, data, message):
    for step in ("review", "send"):
        response = review_broadcast(state, **{**data, "step": step})
        assert response.status_code == 422
        assert message in text_of(response)
    assert count(db, Broadcast) == 0 and count(db, Outbox) == 0


def test_nobody_in_the_audience_means_nothing_to_send(state, db, roster):
    text = text_of(review_broadcast(state, audience="block:Kamptee", role="beo"))
    assert "Nobody is in this audience" in text and "Send to" not in text


@pytest.mark.parametrize("specs", [["all"], ["block:Haveli"], ["district:Nagpur", "school:P4"]])
def test_the_preview_counts_what_the_launch_does(db, roster, specs):
    from storage.campaigns import launch, preview

    before = preview(db, "clean-classrooms", specs, TODAY)
    done = launch(db, "clean-classrooms", specs, TODAY, now=NOW)

    assert before.campaign_id == 0 and done.campaign_id > 0
    assert before.campaign_name == done.campaign_name
    for name in ("template", "start_date", "projects_created", "headmasters_invited",
                 "skipped"):
        assert getattr(before, name) == getattr(done, name), name


def test_the_preview_refuses_what_the_launch_refuses(db, roster):
    from storage.campaigns import CampaignError, launch, preview

    refusals = []
    for attempt in (preview, launch):
        with pytest.raises(CampaignError) as refused:
            attempt(db, "clean-classrooms", ["district:Punee"], dt.date(2026, 7, 1))
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1] and "did you mean district:Pune?" in refusals[0]


def test_the_upload_page_never_says_a_template_loads_when_nothing_was_loaded(app, db, tmp_path):
    """An error and a warning together: the page says nothing loaded, and the warning is put
    as something to look at once the error is fixed (not "loads anyway"); a file with only
    the warning loads and says so. In a real browser, as the state team uses it."""
    from tests.browser import browser_page, live_server

    make_user(db, "state@example.org")
    both = shipped()
    both["category"] = "huge"  # an error
    both["tasks"][2]["day"] = 0  # before the previous task's day: a warning
    warned = shipped()
    warned["tasks"][2]["day"] = 0
    files = {}
    for name, document in (("both.yaml", both), ("warned.yaml", warned)):
        files[name] = tmp_path / name
        files[name].write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with live_server(app) as base, browser_page() as page:
        page.goto(f"{base}/admin/")
        page.get_by_label("Email").fill("state@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/admin/templates")
        page.locator("input[type=file]").set_input_files(str(files["both.yaml"]))
        page.get_by_role("button", name="Upload and load").click()
        page.get_by_text("both.yaml: 1 error; nothing loaded.").wait_for()
        body = page.locator("main").inner_text()
        assert "loads anyway" not in body
        assert "once the errors above are fixed" in body
        assert "No template is loaded yet." in body

        page.locator("input[type=file]").set_input_files(str(files["warned.yaml"]))
        page.get_by_role("button", name="Upload and load").click()
        page.get_by_text("Loaded retell-the-tale version 1 (7 tasks).").wait_for()
        assert "Loaded, with these worth a look:" in page.locator("main").inner_text()
        assert "is before the previous task's day" in page.locator("main").inner_text()
    assert count(db, Template) == 1
