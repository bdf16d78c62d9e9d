"""Launching campaigns: who is invited, with which tasks, what is queued, what is reported."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from bot.cli import main
from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from storage.campaigns import (
    ALREADY_IN_CAMPAIGN,
    NO_HEADMASTER,
    OPTED_OUT,
    AudienceSpec,
    CampaignError,
    extend,
    invitation_params,
    launch,
    parse_audience,
    preview,
)
from storage.db import Database
from storage.models import Campaign, Conversation, Outbox, Person, Project, Task
from tests.clock import wall_today
from tests.factories import make_beo, make_headmaster, make_school, make_template

NOW = dt.datetime(2024, 7, 1, 4, 30, tzinfo=dt.UTC)
START = dt.date(2024, 7, 1)
TEMPLATES = SHIPPED_TEMPLATES


@pytest.fixture
def roster(db: Database) -> dict[str, int]:
    """Pune: Haveli (P1, P2 on SMS) and Mulshi (P3); Nagpur (N1); P4 has no headmaster.
    Returns headmaster ids by school code."""
    with db.transaction() as session:
        make_template(session)
        make_beo(session)
        schools = {
            "P1": make_school(session, "P1", district="Pune", block="Haveli"),
            "P2": make_school(session, "P2", district="Pune ", block="haveli"),
            "P3": make_school(session, "P3", district="PUNE", block="Mulshi"),
            "P4": make_school(session, "P4", district="Pune", block="Mulshi"),
            "N1": make_school(session, "N1", district="Nagpur", block="Kamptee"),
        }
        people = {
            "P1": make_headmaster(session, schools["P1"], name="Asha"),
            "P2": make_headmaster(session, schools["P2"], name="Ravi", channel="sms"),
            "P3": make_headmaster(session, schools["P3"], name="Meena"),
            "N1": make_headmaster(session, schools["N1"], name="Imran"),
        }
        return {code: person.id for code, person in people.items()}


def _projects(db: Database) -> dict[str, Project]:
    with db.sessions() as session:
        projects = session.scalars(select(Project)).all()
        return {project.school.code: project for project in projects}


def _count(db: Database, model: type) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_district_launch_invites_each_school_with_the_templates_tasks(db, roster):
    report = launch(db, "clean-classrooms", [" district: pune "], START, now=NOW)

    projects = _projects(db)
    assert sorted(projects) == ["P1", "P2", "P3"]
    assert report.projects_created == 3 and report.headmasters_invited == 3
    assert report.skipped[NO_HEADMASTER].count == 1
    assert report.skipped[NO_HEADMASTER].examples == ["P4"]
    with db.sessions() as session:
        campaign = session.get(Campaign, report.campaign_id)
        assert campaign.name == "Clean classrooms 2024-07-01"
        assert campaign.audience == ["district:pune"] and campaign.start_date == START
        p1 = session.get(Project, projects["P1"].id)
        assert p1.headmaster_id == roster["P1"] and p1.status == "invited"
        assert p1.invited_at == NOW
        tasks = [
            (t.position, t.due_on, t.mandatory, t.evidence, t.status, t.origin) for t in p1.tasks
        ]
        assert tasks == [
            (1, dt.date(2024, 7, 1), True, "none", "not_started", "template"),
            (2, dt.date(2024, 7, 4), True, "photo", "not_started", "template"),
            (3, dt.date(2024, 7, 11), False, "none", "not_started", "template"),
        ]
        assert all(t.template_task.template_id == campaign.template_id for t in p1.tasks)
        assert session.scalar(select(func.count()).select_from(Task)) == 9

        invitations = session.scalars(select(Outbox).order_by(Outbox.project_id)).all()
        assert [(o.person_id, o.project_id) for o in invitations] == [
            (roster[code], projects[code].id) for code in ("P1", "P2", "P3")
        ]
        ravi = invitations[1]
        assert (ravi.key, ravi.channel, ravi.status, ravi.params) == (
            "invitation",
            "sms",
            "queued",
            {},
        )
        assert ravi.options == ["option.accept", "option.not_now", "option.details"]
        assert ravi.phone == session.get(Person, roster["P2"]).phone
        assert ravi.next_attempt_at == NOW and ravi.attempts == 0

        conversations = session.scalars(select(Conversation)).all()
        assert {c.person_id: (c.state, c.context) for c in conversations} == {
            roster[code]: ("invited", {"project_id": projects[code].id})
            for code in ("P1", "P2", "P3")
        }


def test_extending_adds_only_new_schools_and_never_duplicates(db, roster):
    report = launch(db, "clean-classrooms", ["district:Pune"], START, now=NOW)
    with db.transaction() as session:
        late = make_school(session, "P5", district="Pune")
        make_headmaster(session, late, name="Late")

    again = extend(db, report.campaign_id, ["district:Pune", "school:N1"], now=NOW)

    assert again.projects_created == 2 and again.headmasters_invited == 2
    assert again.skipped[ALREADY_IN_CAMPAIGN].count == 3
    assert again.skipped[ALREADY_IN_CAMPAIGN].examples == ["P1", "P2", "P3"]
    assert sorted(_projects(db)) == ["N1", "P1", "P2", "P3", "P5"]
    assert _count(db, Task) == 15 and _count(db, Outbox) == 5
    with db.sessions() as session:
        assert session.get(Campaign, report.campaign_id).audience == ["district:Pune", "school:N1"]

    nothing = extend(db, report.campaign_id, ["all"], now=NOW)
    assert nothing.projects_created == 0 and nothing.headmasters_invited == 0
    assert _count(db, Project) == 5 and _count(db, Task) == 15 and _count(db, Outbox) == 5


@pytest.mark.parametrize(
    ("specs", "schools"),
    [
        (["block:HAVELI"], ["P1", "P2"]),
        (["block:mulshi"], ["P3"]),
        (["school:N1"], ["N1"]),
        (["all"], ["N1", "P1", "P2", "P3"]),
        (["block:Mulshi", "district:Nagpur", "school:P1"], ["N1", "P1", "P3"]),
        (["district:Pune", "block:Haveli"], ["P1", "P2", "P3"]),  # overlap counted once
    ],
)
def test_audience_specs_and_their_union(db, roster, specs, schools):
    report = launch(db, "clean-classrooms", specs, START, now=NOW)

    assert sorted(_projects(db)) == schools
    assert report.projects_created == len(schools) == _count(db, Outbox)


def test_a_name_the_roster_lacks_refuses_the_whole_launch_with_the_nearest_name(db, roster):
    # A typo in one part of the audience must not invite only the rest of it.
    with pytest.raises(CampaignError) as refused:
        launch(db, "clean-classrooms", ["district:Pnue", "school:X9", "block:Haveli"], START,
               now=NOW)

    assert str(refused.value) == (
        "district:Pnue matches no school in the roster (did you mean district:Pune?); "
        "school:X9 matches no school in the roster. Nothing was launched: correct the "
        "audience and try again.")
    assert _projects(db) == {} and _count(db, Campaign) == 0 and _count(db, Outbox) == 0


def test_opted_out_headmaster_gets_the_project_but_no_message(db, roster):
    with db.transaction() as session:
        session.get(Person, roster["P1"]).opted_out_at = NOW - dt.timedelta(days=3)

    report = launch(db, "clean-classrooms", ["block:Haveli"], START, now=NOW)

    assert sorted(_projects(db)) == ["P1", "P2"]
    assert report.headmasters_invited == 1
    assert report.skipped[OPTED_OUT].count == 1 and report.skipped[OPTED_OUT].examples == ["P1"]
    with db.sessions() as session:
        assert session.scalars(select(Outbox.person_id)).all() == [roster["P2"]]
        assert session.get(Conversation, roster["P1"]) is None


def test_lowest_headmaster_id_gets_the_project(db, roster):
    with db.transaction() as session:
        second = make_headmaster(session, session.get(Person, roster["N1"]).school)

    launch(db, "clean-classrooms", ["school:N1"], START, now=NOW)

    assert _projects(db)["N1"].headmaster_id == roster["N1"] < second.id
    assert _count(db, Outbox) == 1


def test_a_waiting_conversation_is_moved_to_the_invitation_keeping_the_task_in_hand(db, roster):
    with db.transaction() as session:
        session.add(Conversation(person_id=roster["P3"], state="task",
                                 context={"project_id": 999, "task_id": 5}))

    launch(db, "clean-classrooms", ["school:P3"], START, now=NOW)

    project_id = _projects(db)["P3"].id
    with db.sessions() as session:
        conversation = session.get(Conversation, roster["P3"])
        assert conversation.state == "invited"
        # the old project gives way to the invited one; the task in hand stays in hand
        assert conversation.context == {"project_id": project_id, "task_id": 5}
        assert conversation.updated_at == NOW


def test_launch_uses_the_latest_template_version(db, roster):
    with db.transaction() as session:
        v2 = make_template(
            session, version=2, tasks=[{"key": "only", "day": 7, "title": {"en": "The only task"}}]
        )

    report = launch(db, "clean-classrooms", ["school:P1"], START, name="Monsoon drive", now=NOW)

    assert report.template == "clean-classrooms@2" and report.campaign_name == "Monsoon drive"
    with db.sessions() as session:
        assert session.get(Campaign, report.campaign_id).template_id == v2.id
        tasks = session.scalars(select(Task)).all()
        assert [(t.position, t.due_on) for t in tasks] == [(1, dt.date(2024, 7, 8))]


def test_unknown_template_changes_nothing(db, roster):
    with pytest.raises(CampaignError, match="no template 'nope'"):
        launch(db, "nope", ["all"], START, now=NOW)
    assert _count(db, Campaign) == 0


def test_invitation_params_fill_the_invitation_at_send_time(db, roster):
    launch(db, "clean-classrooms", ["school:P1"], START, now=NOW)
    project_id = _projects(db)["P1"].id

    with db.sessions() as session:
        params = invitation_params(session, project_id)

    assert params == {
        "project_id": project_id,
        "name": "Asha",
        "title": {"en": "Clean classrooms", "hi": "स्वच्छ कक्षा"},
        "objective": {"en": "Every classroom clean and bright."},
        "tasks_total": 3,
        "weeks": 2,
    }


def test_a_batch_of_invitations_is_filled_each_with_its_own_headmaster(db, roster):
    from bot.worker.outbound import rows_params

    launch(db, "clean-classrooms", ["district:Pune"], START, now=NOW)
    launch(db, "clean-classrooms", ["school:N1"], START, name="Nagpur", now=NOW)
    with db.sessions() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        filled = rows_params(session, rows)
        people = {row.id: session.get(Person, row.person_id).name for row in rows}
    assert {filled[row_id]["name"] for row_id in filled} == {"Asha", "Ravi", "Meena", "Imran"}
    assert all(filled[row_id]["name"] == name for row_id, name in people.items())
    assert {p["tasks_total"] for p in filled.values()} == {3}


def test_the_outbox_has_planner_statistics_straight_after_a_launch(db, roster):
    """The worker's claim is planned by them: without, PostgreSQL takes the fresh outbox for
    empty and a claim crawls until autovacuum analyses it."""
    if db.is_sqlite:
        pytest.skip("SQLite plans without statistics")
    launch(db, "clean-classrooms", ["all"], START, now=NOW)
    with db.sessions() as session:
        estimate = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'outbox'"))
    assert estimate == 4


def test_the_queued_invitation_renders_for_the_headmaster(db, roster):
    from bot.worker.outbound import render_row

    launch(db, "clean-classrooms", ["school:P1"], START, now=NOW)
    with db.sessions() as session:
        row = session.scalars(select(Outbox)).one()
        rendered = render_row(session, row, session.get(Person, row.person_id))

    text = str(getattr(rendered, "text", rendered))
    assert "Asha" in text and "Clean classrooms" in text


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("all", AudienceSpec("all")),
        (" ALL ", AudienceSpec("all")),
        ("district:Pune", AudienceSpec("district", "Pune")),
        ("Block : Haveli ", AudienceSpec("block", "Haveli")),
        ("school:2725", AudienceSpec("school", "2725")),
    ],
)
def test_parse_audience(text, spec):
    assert parse_audience(text) == spec


@pytest.mark.parametrize("text", ["", "pune", "state:MH", "district:", "school: "])
def test_parse_audience_refuses(text):
    with pytest.raises(CampaignError):
        parse_audience(text)


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def kadam(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def cli_start() -> str:
    """A --start for `kadam campaign launch`, which reads the real clock (a start more than ten
    years from the real today is refused as a typo): the real today, in India."""
    return wall_today().isoformat()


def test_cli_launch_prints_what_it_did(db, roster, kadam):
    with db.transaction() as session:
        session.get(Person, roster["P2"]).opted_out_at = NOW
    start = cli_start()

    result = kadam(
        "campaign",
        "launch",
        "clean-classrooms",
        "--audience",
        "district:Pune",
        "--start",
        start,
    )

    assert result.exit_code == 0, result.output
    campaign_id = _projects(db)["P1"].campaign_id
    assert f"Campaign {campaign_id} “Clean classrooms {start}” launched" in result.stdout
    assert "projects created: 3" in result.stdout
    assert "headmasters invited: 2" in result.stdout
    assert "skipped 1 school: no headmaster in roster (P4)" in result.stdout
    assert "headmaster opted out (project created, not messaged) (P2)" in result.stdout


def test_cli_launch_to_a_mistyped_district_exits_1_and_creates_nothing(db, roster, kadam):
    result = kadam("campaign", "launch", "clean-classrooms", "--audience", "district:pnue",
                   "--start", "2024-07-01", "--yes")

    assert result.exit_code == 1
    assert "district:pnue matches no school in the roster (did you mean district:Pune?)" \
        in result.stderr
    assert "Nothing was launched" in result.stderr
    assert _count(db, Campaign) == 0 and _count(db, Outbox) == 0


def test_cli_start_defaults_to_today_in_kadam_timezone(db, roster, kadam, monkeypatch):
    monkeypatch.setenv("KADAM_TIMEZONE", "Africa/Nairobi")

    result = kadam("campaign", "launch", "clean-classrooms", "--audience", "school:P1")

    assert result.exit_code == 0, result.output
    with db.sessions() as session:
        start = session.scalars(select(Campaign.start_date)).one()
    # The default is the real today where the state team is: that is what is tested.
    assert start == dt.datetime.now(ZoneInfo("Africa/Nairobi")).date()


def test_cli_extend_adds_schools(db, roster, kadam):
    kadam("campaign", "launch", "clean-classrooms", "--audience", "school:P1")
    campaign_id = _projects(db)["P1"].campaign_id

    result = kadam("campaign", "extend", str(campaign_id), "--audience", "block:Haveli")

    assert result.exit_code == 0, result.output
    assert "projects created: 1" in result.stdout
    assert "skipped 1 school: already in this campaign (P1)" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["nope", "--audience", "all"], 1, "no template 'nope'"),
        (["clean-classrooms", "--audience", "state:MH"], 2, "is not one of"),
        (
            ["clean-classrooms", "--audience", "all", "--start", "1 July"],
            2,
            "is not a date like 2024-07-01",
        ),
        (["clean-classrooms"], 2, "Missing option '--audience'"),
    ],
)
def test_cli_launch_refuses_clearly(db, roster, kadam, args, code, message):
    result = kadam("campaign", "launch", *args)

    assert result.exit_code == code
    assert message in result.output
    assert _count(db, Campaign) == 0


# -- headmasters whose language the template lacks ---------------------------------------------


def _reads(db, language: str, *codes: str) -> None:
    with db.transaction() as session:
        for person in session.scalars(select(Person).join(Person.school)):
            if person.school.code in codes:
                person.language = language


def test_the_preview_counts_the_headmasters_whose_language_the_template_lacks(db, roster):
    _reads(db, "or", "P1", "P3")
    _reads(db, "ta", "N1")
    with db.transaction() as session:
        session.get(Person, roster["P3"]).opted_out_at = NOW  # gets no message at all

    report = preview(db, "clean-classrooms", ["all"], START)

    # The template is written in English (its title in Hindi too): Odia and Tamil are missing.
    assert report.missing_languages == {"or": 1, "ta": 1}
    assert _count(db, Campaign) == 0


def test_a_template_in_all_fourteen_languages_leaves_no_one_out(db, roster):
    from storage.templates import load, parse

    load(db, parse((TEMPLATES / "retell-the-tale.yaml").read_text(encoding="utf-8")))
    _reads(db, "or", "P1")
    _reads(db, "ta", "N1")

    assert preview(db, "retell-the-tale", ["all"], START).missing_languages == {}


def _launch(db, monkeypatch, *extra: str, answer: str | None = None):
    monkeypatch.setenv("DATABASE_URL", db.url)
    return CliRunner().invoke(main, ["campaign", "launch", "clean-classrooms", "--audience",
                                     "district:Pune", "--start", cli_start(), *extra],
                              input=answer)


def test_cli_launch_says_whose_language_is_missing_and_asks_before_queuing(db, roster,
                                                                          monkeypatch):
    _reads(db, "or", "P1", "P3")

    declined = _launch(db, monkeypatch, answer="n\n")

    assert declined.exit_code == 1
    assert ("warning: 2 headmasters read Odia (ଓଡ଼ିଆ), which clean-classrooms@1 lacks: they "
            "will get it in their second language, else English") in declined.stderr
    assert "Launch anyway? [y/N]" in declined.stderr
    assert "Nothing was launched" in declined.stderr
    assert _count(db, Campaign) == 0 and _count(db, Outbox) == 0

    unanswered = _launch(db, monkeypatch)  # a script with nothing on standard input
    assert unanswered.exit_code == 1 and _count(db, Campaign) == 0

    accepted = _launch(db, monkeypatch, answer="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "projects created: 3" in accepted.stdout and _count(db, Campaign) == 1


def test_cli_launch_with_yes_warns_and_launches_without_asking(db, roster, monkeypatch):
    _reads(db, "ta", "P2")

    result = _launch(db, monkeypatch, "--yes")

    assert result.exit_code == 0, result.output
    assert "warning: 1 headmaster reads Tamil (தமிழ்)" in result.stderr
    assert "Launch anyway" not in result.stderr
    assert "headmasters invited: 3" in result.stdout
