"""The two ways the engine writes a step's effects agree, row for row.

The clock's triggers reach the database set-based (`Engine.trigger_many`, bot/engine/batch.py);
the same triggers one at a time take the row-by-row path an inbound message takes
(`Engine.trigger`, bot/engine/applier.py). Both use one rule per effect (bot/engine/rules.py).

Two mirror worlds are launched on "Retell the Tale" at the same instant: Satara and Sangli,
each with a headmaster who does every task, one who accepts and then goes quiet (in Kigali's
time zone), one who never answers, and one who has opted out. For six weeks the clock's due
work is run every few hours: Satara's one trigger at a time, Sangli's in batches. After every
tick the two worlds' rows (projects, tasks, task events, the outbox, conversations) are
compared field by field, ids read as "the same school's".
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from storage import due
from storage.campaigns import launch
from storage.models import Conversation, InboundMessage, Outbox, Person, Project, Task, TaskEvent
from storage.schedule import QuietHours
from storage.templates import load, parse
from tests.factories import make_headmaster, make_school

START = dt.date(2026, 7, 6)  # a Monday
T0 = dt.datetime(2026, 7, 6, 2, 0, tzinfo=dt.UTC)  # 07:30 in India
QUIET = QuietHours()
STEP = dt.timedelta(hours=3)
DAYS = 42  # past the last task (day 24) and the lapse fourteen days after it
OPTED_OUT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
_sid = itertools.count(1)

# (role in the story, name, language, school time zone, opted out)
CAST = [("doer", "Asha Patil", "mr", None, False),
        ("quiet", "Claudine Uwase", "rw", "Africa/Kigali", False),
        ("silent", "Ravi Jadhav", "hi", None, False),
        ("stopped", "Meena Shinde", "mr", None, True)]
WORLDS = {"single": "Satara", "batch": "Sangli"}


def _world(db) -> Settings:
    load(db, parse((SHIPPED_TEMPLATES / "retell-the-tale.yaml").read_text(encoding="utf-8")))
    with db.transaction() as session:
        for world, district in WORLDS.items():
            for n, (_role, name, language, zone, stopped) in enumerate(CAST, start=1):
                school = make_school(session, f"{world[0].upper()}{n}", name=f"School {n}",
                                     district=district, block="Wai", timezone=zone)
                make_headmaster(session, school, name=name, language=language,
                                phone=f"+9198{'1' if world == 'single' else '2'}000000{n}",
                                opted_out_at=OPTED_OUT if stopped else None)
    for district in WORLDS.values():
        launch(db, "retell-the-tale", [f"district:{district}"], START, now=T0,
               settings={"send_time": "10:00", "reminder_after_days": 2})
    return Settings(database_url=db.url, timezone="Asia/Kolkata")


def _people(db) -> dict[str, dict[str, int]]:
    """world -> role -> person id."""
    with db.sessions() as session:
        rows = session.execute(select(Person.id, Person.phone)).all()
    found: dict[str, dict[str, int]] = {"single": {}, "batch": {}}
    for person_id, phone in rows:
        world = "single" if phone.startswith("+91981") else "batch"
        found[world][CAST[int(phone[-1]) - 1][0]] = person_id
    return found


def _say(engine: Engine, db, person_id: int, text: str, now: dt.datetime,
         photo: bool = False) -> None:
    with db.sessions() as session:
        phone = session.get(Person, person_id).phone
    media = [{"url": f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM{n}/Media/ME1",
              "content_type": "image/jpeg"} for n in range(1 if photo else 0)]
    engine.receive(Inbound(f"SM{next(_sid):032d}", phone, "whatsapp", text, media=media), now)


def _tick(engine: Engine, db, settings: Settings, now: dt.datetime,
          world_of: dict[int, str]) -> int:
    """The clock's due work at `now`, in the clock's order; Satara's one by one, Sangli's
    in batches. Returns how many triggers ran."""
    zone, ran = settings.timezone, 0
    finders: list[Callable[[Any], list[tuple[int, Any]]]] = [
        lambda s: due.lapses(s, now),
        lambda s: due.invitation_reminders(s, now, zone, QUIET),
        lambda s: due.task_prompts(s, now, zone, QUIET),
        lambda s: due.reminders(s, now, zone, QUIET)]
    for find in finders:
        with db.sessions() as session:
            items = find(session)
        ran += len(items)
        for person_id, event in items:
            if world_of[person_id] == "single":
                engine.trigger(person_id, event, now)
        engine.trigger_many([i for i in items if world_of[i[0]] == "batch"], now)
    return ran


# --- reading a world's rows, with ids as names ------------------------------------------------

ID_KEYS = {"project_id", "task_id", "headmaster_id", "person_id", "in_reply_to", "inbound_id"}


def _names(db, world: str, people: dict[str, int]) -> dict[tuple[str, int], str]:
    """Every id of the world's rows, named by role and position, the same in both worlds."""
    role_of = {pid: role for role, pid in people.items()}
    names: dict[tuple[str, int], str] = {("person", pid): role for pid, role in role_of.items()}
    with db.sessions() as session:
        for project_id, headmaster_id in session.execute(
                select(Project.id, Project.headmaster_id)
                .where(Project.headmaster_id.in_(role_of))):
            names[("project", project_id)] = role_of[headmaster_id]
            for task_id, position in session.execute(
                    select(Task.id, Task.position).where(Task.project_id == project_id)):
                names[("task", task_id)] = f"{role_of[headmaster_id]}.{position}"
        inbound = session.scalars(select(InboundMessage.id).where(
            InboundMessage.person_id.in_(role_of)).order_by(InboundMessage.id)).all()
    names.update({("inbound", i): f"in{n}" for n, i in enumerate(inbound)})
    return names


def _kind(key: str) -> str:
    return {"project_id": "project", "task_id": "task", "headmaster_id": "person",
            "person_id": "person", "in_reply_to": "inbound", "inbound_id": "inbound"}[key]


def _named(value: Any, names: dict[tuple[str, int], str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _named(v, names, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, names, key) for v in value]
    if key in ID_KEYS and isinstance(value, int):
        return names.get((_kind(key), value), f"?{value}")
    return value


def _rows(db, world: str, people: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    names = _names(db, world, people)
    ids = list(people.values())
    tables = {
        "project": (select(Project).where(Project.headmaster_id.in_(ids)), Project,
                    {"id", "campaign_id", "school_id"}),
        "task": (select(Task).join(Project).where(Project.headmaster_id.in_(ids)), Task,
                 {"id"}),
        "task_event": (select(TaskEvent).join(Task).join(Project)
                       .where(Project.headmaster_id.in_(ids)), TaskEvent, {"id"}),
        "outbox": (select(Outbox).where(Outbox.person_id.in_(ids)), Outbox, {"id", "phone"}),
        "conversation": (select(Conversation).where(Conversation.person_id.in_(ids)),
                         Conversation, set()),
    }
    found: dict[str, list[dict[str, Any]]] = {}
    with db.sessions() as session:
        for table, (query, model, skipped) in tables.items():
            columns = [c.key for c in model.__table__.columns if c.key not in skipped]
            rows = [{c: _named(getattr(row, c), names, c) for c in columns}
                    for row in session.scalars(query)]
            found[table] = sorted(rows, key=lambda r: repr(sorted(r.items(), key=str)))
    return found


def test_the_single_and_the_batch_path_write_the_same_rows(db):
    settings = _world(db)
    engine = Engine(db, settings, QUIET)
    people = _people(db)
    world_of = {pid: world for world, roles in people.items() for pid in roles.values()}
    # Both accept on the first morning; the Kigali headmaster then goes quiet.
    for world in WORLDS:
        _say(engine, db, people[world]["doer"], "yes", T0 + dt.timedelta(hours=4))
        _say(engine, db, people[world]["quiet"], "1", T0 + dt.timedelta(hours=9))

    triggers, compared = 0, 0
    now = T0 + dt.timedelta(hours=5)
    while now < T0 + dt.timedelta(days=DAYS):
        triggers += _tick(engine, db, settings, now, world_of)
        # The doer answers whatever task they were last asked about, an hour later: done,
        # then the photo when one is asked for, then the story and the consent to share it.
        for world in WORLDS:
            with db.sessions() as session:
                state = session.get(Conversation, people[world]["doer"])
            later = now + dt.timedelta(hours=1)
            if state is not None and state.state == "task":
                _say(engine, db, people[world]["doer"], "" if state.context.get("photo")
                     else "done", later, photo=bool(state.context.get("photo")))
            elif state is not None and state.state == "story":
                _say(engine, db, people[world]["doer"], "Children now retell stories at home",
                     later)
            elif state is not None and state.state == "share_story":
                _say(engine, db, people[world]["doer"], "1", later)
        single = _rows(db, "single", people["single"])
        batch = _rows(db, "batch", people["batch"])
        for table in single:
            assert single[table] == batch[table], f"{table} differs at {now}"
        compared += 1
        now += STEP

    # The march did what it set out to: every kind of trigger ran, and both worlds moved.
    assert compared > DAYS * 7  # every three hours, for six weeks
    assert triggers > 40
    final = _rows(db, "single", people["single"])
    keys = [row["key"] for row in final["outbox"]]
    for key in ("invitation", "invitation.reminder", "task.prompt", "task.reminder",
                "project.lapsed"):
        assert key in keys, key
    statuses = {row["headmaster_id"]: row["status"] for row in final["project"]}
    assert statuses["doer"] == "submitted"
    assert statuses["quiet"] == "lapsed"
    assert statuses["silent"] == "invited"
    assert not [row for row in final["outbox"] if row["person_id"] == "stopped"]
