"""`kadam export projects|tasks|messages`: the columns the state team's sheets expect, with the
right counts."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.cli import main
from storage.campaigns import launch
from storage.db import Database
from storage.exports import MESSAGE_COLUMNS, PROJECT_COLUMNS, TASK_COLUMNS, project_rows
from storage.models import Evidence, Project, Task
from tests.factories import make_headmaster, make_school, make_template

NOW = dt.datetime(2024, 7, 1, 4, 30, tzinfo=dt.UTC)
HEADER = (
    "campaign,template,district,block,school_code,school_name,headmaster,phone,status,"
    "tasks_done,tasks_total,evidence_count,started_at,completed_at,last_reply_at,last_heard_at"
)


@pytest.fixture
def campaigns(db: Database) -> tuple[int, int]:
    """Two campaigns: 'Monsoon' for Pune's P1 (two tasks done, two photos kept, one rejected)
    and P2 (untouched); 'Later' for Nagpur's N1."""
    with db.transaction() as session:
        make_template(session)
        p1 = make_school(session, "P1", name="ZP School Wagholi", district="Pune", block="Haveli")
        p2 = make_school(session, "P2", name="=HYPERLINK(1)", district="Pune", block="Haveli")
        n1 = make_school(session, "N1", district="Nagpur", block="Kamptee")
        make_headmaster(session, p1, name="Asha Patil", phone="+919800000001")
        make_headmaster(session, p2, name="Ravi", phone="+919800000002")
        make_headmaster(session, n1, name="Imran", phone="+919800000003")
    monsoon = launch(
        db, "clean-classrooms", ["district:Pune"], dt.date(2024, 7, 1), name="Monsoon", now=NOW
    )
    later = launch(
        db, "clean-classrooms", ["district:Nagpur"], dt.date(2024, 8, 1), name="Later", now=NOW
    )
    with db.transaction() as session:
        project = session.scalars(
            select(Project).where(
                Project.campaign_id == monsoon.campaign_id, Project.school_id == p1.id
            )
        ).one()
        project.status = "in_progress"
        project.started_at = NOW + dt.timedelta(hours=2)
        project.last_reply_at = dt.datetime(2024, 7, 4, 9, 15, 30, tzinfo=dt.UTC)
        tasks = project.tasks
        session.execute(
            update(Task).where(Task.id.in_([tasks[0].id, tasks[1].id])).values(status="completed")
        )
        session.add_all(
            [
                Evidence(task_id=tasks[1].id, kind="photo", status="stored"),
                Evidence(task_id=tasks[1].id, kind="photo", status="pending"),
                Evidence(task_id=tasks[1].id, kind="photo", status="rejected"),
            ]
        )
    return monsoon.campaign_id, later.campaign_id


ASHA = (
    "Monsoon",
    "clean-classrooms@1",
    "Pune",
    "Haveli",
    "P1",
    "ZP School Wagholi",
    "Asha Patil",
    "+919800000001",
    "in_progress",
    2,
    3,
    2,
    "2024-07-01T06:30:00Z",
    "",
    "2024-07-04T09:15:30Z",
    "2024-07-04T09:15:30Z",  # heard: the reply, the last thing she sent
)
RAVI = (
    "Monsoon",
    "clean-classrooms@1",
    "Pune",
    "Haveli",
    "P2",
    "=HYPERLINK(1)",
    "Ravi",
    "+919800000002",
    "invited",
    0,
    3,
    0,
    "",
    "",
    "",
    "2024-07-01T04:30:00Z",  # never wrote: counted from the invitation
)


def _text(row: tuple) -> list[str]:
    return [str(value) for value in row]


@pytest.fixture
def kadam(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_project_rows_count_done_tasks_and_kept_evidence(db, campaigns):
    with db.sessions() as session:
        rows = list(project_rows(session))

    assert len(rows) == 3 and all(len(row) == len(PROJECT_COLUMNS) for row in rows)
    assert rows[0] == ASHA and rows[1] == RAVI
    assert rows[2][:5] == ("Later", "clean-classrooms@1", "Nagpur", "Kamptee", "N1")


def test_csv_on_stdout_has_the_agreed_header_and_values(db, campaigns, kadam):
    result = kadam("export", "projects")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    # A school named like a formula is guarded on standard output too: it is mostly
    # redirected into a .csv that someone opens in a spreadsheet.
    assert rows[:2] == [_text(ASHA), [("'" + v if v == "=HYPERLINK(1)" else v)
                                      for v in _text(RAVI)]]


def test_raw_csv_on_stdout_is_exactly_as_stored(db, campaigns, kadam):
    result = kadam("export", "projects", "--raw")

    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    assert rows[:2] == [_text(ASHA), _text(RAVI)]
    assert "'=HYPERLINK(1)" not in result.stdout
    assert [row[0] for row in rows] == ["Monsoon", "Monsoon", "Later"]


def test_campaign_filter(db, campaigns, kadam):
    monsoon, later = campaigns

    result = kadam("export", "projects", "--campaign", str(later))

    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [row[4] for row in rows[1:]] == ["N1"]
    with db.sessions() as session:
        assert [row[4] for row in project_rows(session, monsoon)] == ["P1", "P2"]


def test_csv_file(db, campaigns, kadam, tmp_path):
    out = tmp_path / "projects.csv"

    result = kadam("export", "projects", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "3 projects written" in result.stderr
    # Excel needs the byte-order mark to read Hindi names from a CSV file.
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert ",".join(rows[0]) == HEADER and rows[1] == _text(ASHA)


def test_xlsx_reads_back(db, campaigns, kadam, tmp_path):
    out = tmp_path / "projects.xlsx"

    result = kadam("export", "projects", "--campaign", str(campaigns[0]), "--out", str(out))

    assert result.exit_code == 0, result.output
    workbook = load_workbook(out, read_only=True)
    rows = [tuple("" if v is None else v for v in row) for row in workbook.active.values]
    workbook.close()
    # A roster name starting with "=" stays text, never becomes a formula.
    assert load_workbook(out).active["F3"].data_type == "s"
    assert rows[0] == PROJECT_COLUMNS
    assert rows[1:] == [ASHA, RAVI]


def test_unknown_campaign_or_format_is_refused(db, campaigns, kadam, tmp_path):
    missing = kadam("export", "projects", "--campaign", "999")
    assert missing.exit_code == 1
    assert "no campaign with id 999" in missing.output

    wrong = kadam("export", "projects", "--out", str(tmp_path / "projects.pdf"))
    assert wrong.exit_code == 2
    assert ".csv or .xlsx" in wrong.output


def test_empty_database_exports_just_the_header(db, kadam):
    result = kadam("export", "projects")

    assert result.exit_code == 0, result.output
    assert result.stdout == HEADER + "\n"


# --- kadam export messages ----------------------------------------------------------------------

MESSAGES_HEADER = (
    "created_at,phone,name,role,school_code,district,block,key,channel,form,status,error_code,"
    "error_message,sent_at,status_at"
)
LATE = "outside WhatsApp's 24-hour window and no approved template for task.prompt (hi); no SMS"


@pytest.fixture
def messages(db: Database) -> None:
    """A prompt sent by SMS to Asha, one not sent to Ravi (and why), a digest to a BEO and the
    reply to a number not in the roster."""
    from storage.models import Outbox
    from tests.factories import make_beo

    with db.transaction() as session:
        p1 = make_school(session, "P1", district="Pune", block="Haveli")
        asha = make_headmaster(session, p1, name="Asha Patil", phone="+919800000001")
        ravi = make_headmaster(session, p1, name="Ravi", phone="+919800000002")
        beo = make_beo(session, district="Nagpur", block="Kamptee", name="BEO Kamptee",
                       phone="+918000000001")
        common = {"params": {}, "options": [], "created_at": NOW}
        session.add_all([
            Outbox(person_id=asha.id, phone=asha.phone, channel="sms", key="task.prompt",
                   form="sms", status="delivered", sent_at=NOW + dt.timedelta(minutes=1),
                   status_at=NOW + dt.timedelta(minutes=2), **common),
            Outbox(person_id=ravi.id, phone=ravi.phone, channel="whatsapp", key="task.prompt",
                   status="not_sent", error_message=LATE, status_at=NOW, **common),
            Outbox(person_id=beo.id, phone=beo.phone, channel="whatsapp", key="digest",
                   form="template", status="failed", error_code=63016, **common),
            Outbox(phone="+919811111111", channel="whatsapp", key="unregistered", **common),
        ])


def test_messages_export_has_one_row_per_message_with_why_it_was_not_sent(db, messages, kadam):
    result = kadam("export", "messages")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == MESSAGES_HEADER
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    assert rows == [
        ["2024-07-01T04:30:00Z", "+919800000001", "Asha Patil", "headmaster", "P1", "Pune",
         "Haveli", "task.prompt", "sms", "sms", "delivered", "", "", "2024-07-01T04:31:00Z",
         "2024-07-01T04:32:00Z"],
        ["2024-07-01T04:30:00Z", "+919800000002", "Ravi", "headmaster", "P1", "Pune", "Haveli",
         "task.prompt", "whatsapp", "", "not_sent", "", LATE, "", "2024-07-01T04:30:00Z"],
        ["2024-07-01T04:30:00Z", "+918000000001", "BEO Kamptee", "beo", "", "Nagpur",
         "Kamptee", "digest", "whatsapp", "template", "failed", "63016", "", "", ""],
        ["2024-07-01T04:30:00Z", "+919811111111", "", "", "", "", "", "unregistered",
         "whatsapp", "", "queued", "", "", "", ""],
    ]


def test_messages_export_filters_by_status_and_writes_excel(db, messages, kadam, tmp_path):
    out = tmp_path / "unsent.xlsx"

    result = kadam("export", "messages", "--status", "not_sent", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "1 messages written" in result.stderr
    workbook = load_workbook(out, read_only=True)
    rows = [tuple("" if v is None else v for v in row) for row in workbook.active.values]
    workbook.close()
    assert rows[0] == MESSAGE_COLUMNS
    assert [(r[1], r[10], r[12]) for r in rows[1:]] == [("+919800000002", "not_sent", LATE)]
    assert kadam("export", "messages", "--status", "lost").exit_code == 2


def test_a_csv_file_keeps_a_formula_as_text(db, campaigns, kadam, tmp_path):
    out = tmp_path / "projects.csv"

    assert kadam("export", "projects", "--out", str(out)).exit_code == 0

    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    # A file is for a spreadsheet: the quote keeps Excel from running it. A phone's "+" is a
    # number's sign, not a formula, and stays as it is.
    assert rows[2][5] == "'=HYPERLINK(1)" and rows[2][7] == "+919800000002"


# --- kadam export tasks -------------------------------------------------------------------------

TASKS_HEADER = (
    "campaign,district,block,school_code,school_name,task,task_title,origin,mandatory,status,"
    "due_on,prompted_at,completed_at,status_changed_at,evidence_count,evidence_links,remarks"
)


@pytest.fixture
def task_details(db: Database, campaigns: tuple[int, int]) -> list[int]:
    """P1's second task: a stored photo on disk, a remark and a note on completing it; and a
    task the headmaster added. Returns the stored photo's id."""
    from storage.models import TaskEvent

    with db.transaction() as session:
        project = session.scalars(
            select(Project).where(Project.campaign_id == campaigns[0]).order_by(Project.id)
        ).first()
        tasks = project.tasks
        tasks[1].remarks = "Need brooms\nBrooms came"
        tasks[1].completed_at = tasks[1].status_changed_at = NOW + dt.timedelta(days=3)
        session.add_all([
            TaskEvent(task_id=tasks[1].id, at=NOW + dt.timedelta(days=1), status="help",
                      note="Need brooms"),
            TaskEvent(task_id=tasks[1].id, at=NOW + dt.timedelta(days=2), status="postponed",
                      note="2 day(s)"),
            TaskEvent(task_id=tasks[1].id, at=NOW + dt.timedelta(days=3), status="completed",
                      note="All rooms swept"),
        ])
        session.add(Task(project_id=project.id, position=4, origin="own",
                         own_title="=Paint the gate", mandatory=False, status="not_started"))
        stored = session.scalars(
            select(Evidence).where(Evidence.task_id == tasks[1].id, Evidence.status == "stored")
        ).one()
        stored.path = "P1/photo.jpg"
        session.flush()
        return [stored.id]


def test_tasks_export_one_row_per_task(db, campaigns, task_details, kadam, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://kadam.example/")
    [photo] = task_details

    result = kadam("export", "tasks", "--campaign", str(campaigns[0]))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == TASKS_HEADER
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    p1 = [row for row in rows if row[3] == "P1"]
    assert [row[5] for row in p1] == ["1", "2", "3", "4"]
    assert p1[0][:11] == ["Monsoon", "Pune", "Haveli", "P1", "ZP School Wagholi", "1",
                          "Meet your teachers", "template", "yes", "completed", "2024-07-01"]
    # Two photos kept (stored and pending; the rejected one is no evidence), one to open yet;
    # the remarks are the headmaster's, each once, not the bot's "postponed" note.
    assert p1[1][6:] == ["Clean the classroom", "template", "yes", "completed", "2024-07-04",
                         "", "2024-07-04T04:30:00Z", "2024-07-04T04:30:00Z", "2",
                         f"https://kadam.example/admin/evidence/{photo}/photo",
                         "Need brooms | Brooms came | All rooms swept"]
    assert p1[2][6:10] == ["Share with parents", "template", "no", "not_started"]
    # A task the headmaster added, in their words, made inert for a spreadsheet (--raw keeps
    # it exact).
    assert p1[3][6:11] == ["'=Paint the gate", "own", "no", "not_started", ""]
    raw = kadam("export", "tasks", "--campaign", str(campaigns[0]), "--raw")
    assert ",=Paint the gate," in raw.stdout and "'=Paint" not in raw.stdout
    assert len(rows) == 3 + 4  # P2's three tasks and P1's four; Nagpur is another campaign


def test_tasks_export_to_excel(db, campaigns, task_details, kadam, tmp_path):
    out = tmp_path / "tasks.xlsx"

    result = kadam("export", "tasks", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "10 tasks written" in result.stderr
    workbook = load_workbook(out)
    rows = [tuple("" if v is None else v for v in row) for row in workbook.active.values]
    assert rows[0] == TASK_COLUMNS
    assert [row[3] for row in rows[1:]] == ["P1"] * 4 + ["P2"] * 3 + ["N1"] * 3
    own = next(r for r in range(2, 12) if workbook.active.cell(row=r, column=8).value == "own")
    assert workbook.active.cell(row=own, column=7).data_type == "s"  # text, not a formula
    assert rows[2][14] == 2 and rows[2][15].endswith(f"/admin/evidence/{task_details[0]}/photo")


def test_tasks_export_refuses_an_unknown_campaign(db, campaigns, kadam):
    result = kadam("export", "tasks", "--campaign", "999")
    assert result.exit_code == 1 and "no campaign with id 999" in result.output


def test_task_rows_take_the_scope_and_filters(db, campaigns, task_details):
    from storage.exports import task_rows
    from storage.scope import Scope

    with db.sessions() as session:
        assert {row[3] for row in task_rows(session, scope=Scope.of("district", "pune"))} == {
            "P1", "P2"}
        assert list(task_rows(session, scope=Scope.of("block", "Pune/Mulshi"))) == []
        assert {row[3] for row in task_rows(session, status="in_progress")} == {"P1"}


@pytest.mark.parametrize("value, safe", [
    ("=1+1", "'=1+1"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("+919822012345", "+919822012345"),
    ("-5", "-5"), ("ZP School", "ZP School"), (3, 3), ("", ""),
])
def test_csv_formula_guard(value, safe):
    from bot.sheets.spreadsheets import csv_safe

    assert csv_safe(value) == safe
