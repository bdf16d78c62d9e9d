"""Schedules, marched through time with the clock's own code (`tick` at chosen instants).

Three headmasters on the shipped "Retell the Tale" (tasks on days 0, 2, 5, 7, 10, 14, 24):
Asha in Satara (Asia/Kolkata) does each task the day it comes; Claudine in Kigali
(Africa/Kigali) accepts and then goes quiet; Ravi in Satara never answers the invitation.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.clock.clock import Clock, tick
from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from flows.events import TaskDue
from storage.campaigns import launch
from storage.models import Outbox, Person, Project, Task
from storage.schedule import QuietHours
from storage.templates import load, parse
from tests.factories import make_headmaster, make_school

TEMPLATE = SHIPPED_TEMPLATES / "retell-the-tale.yaml"
KOLKATA, KIGALI = ZoneInfo("Asia/Kolkata"), ZoneInfo("Africa/Kigali")
START = dt.date(2026, 7, 6)  # a Monday
T0 = dt.datetime(2026, 7, 6, 2, 0, tzinfo=dt.UTC)  # 07:30 in Satara, 04:00 in Kigali
QUIET = QuietHours()  # 20:00 to 08:00
STEP = dt.timedelta(minutes=30)
_sid = itertools.count(1)


@pytest.fixture
def world(db):
    load(db, parse(TEMPLATE.read_text(encoding="utf-8")))
    with db.transaction() as session:
        satara = make_school(session, "SAT1", district="Satara", block="Wai")
        satara2 = make_school(session, "SAT2", district="Satara", block="Wai")
        kigali = make_school(session, "KGL1", district="Gasabo", block="Kimironko",
                             timezone="Africa/Kigali")
        people = {
            "asha": make_headmaster(session, satara, phone="+919822000001").phone,
            "ravi": make_headmaster(session, satara2, phone="+919822000002").phone,
            "claudine": make_headmaster(session, kigali, phone="+250788000001").phone,
        }
    launch(db, "retell-the-tale", ["district:Satara", "district:Gasabo"], START, now=T0,
           settings={"send_time": "10:00", "reminder_after_days": 2})
    settings = Settings(database_url=db.url, timezone="Asia/Kolkata")
    return db, settings, people


def say(db, settings, phone, text, now):
    Engine(db, settings, QUIET).receive(
        Inbound(sid=f"SM{next(_sid):032d}", phone=phone, channel="whatsapp", body=text), now)


def outbox(db, phone):
    with db.sessions() as session:
        return session.scalars(select(Outbox).where(Outbox.phone == phone)
                               .order_by(Outbox.id)).all()


def march(db, settings, until, start, on_prompt=None):
    """Ticks every half hour; `on_prompt(phone, row, now)` plays the headmaster's part."""
    now = start
    seen: set[int] = set()
    while now <= until:
        tick(db, settings, now, QUIET)
        if on_prompt:
            with db.sessions() as session:
                fresh = session.scalars(select(Outbox).where(
                    Outbox.in_reply_to.is_(None), Outbox.id.not_in(seen or {0}))).all()
            for row in fresh:
                seen.add(row.id)
                on_prompt(row.phone, row, now)
        now += STEP


def local(moment, zone):
    return moment.astimezone(zone)


def test_a_four_week_project_runs_itself_in_two_time_zones(world):
    db, settings, people = world
    say(db, settings, people["asha"], "yes", T0 + dt.timedelta(hours=1))
    say(db, settings, people["asha"], "ho gaya", T0 + dt.timedelta(hours=2))  # task 1
    say(db, settings, people["claudine"], "yego", T0 + dt.timedelta(hours=6))

    def asha_does_each_task(phone, row, now):
        if phone == people["asha"] and row.key == "task.prompt":
            say(db, settings, phone, "done", now + dt.timedelta(minutes=10))
            if row.params.get("photo"):  # she has no photo to send
                say(db, settings, phone, "skip", now + dt.timedelta(minutes=11))

    march(db, settings, T0 + dt.timedelta(days=45), T0, asha_does_each_task)

    # Every scheduled message became sendable in daytime, in the recipient's own zone.
    for name, zone in (("asha", KOLKATA), ("claudine", KIGALI), ("ravi", KOLKATA)):
        scheduled = [row for row in outbox(db, people[name])
                     if row.in_reply_to is None and row.key != "invitation"]
        assert scheduled, name
        for row in scheduled:
            hour = local(row.next_attempt_at, zone).time()
            assert dt.time(8) <= hour < dt.time(20), (name, row.key, hour)

    # Asha: each task asked about exactly once, at 10:00-10:30 local on its day, and done.
    asha = outbox(db, people["asha"])
    prompts = [r for r in asha if r.key == "task.prompt"]
    scheduled = [r for r in prompts if r.in_reply_to is None]
    assert Counter(r.task_id for r in prompts) == Counter({t: 1 for t in {r.task_id for r in
                                                                           prompts}})
    assert len(prompts) == 7
    for row in scheduled:
        at = local(row.created_at, KOLKATA)
        assert dt.time(10) <= at.time() <= dt.time(10, 30), at
    days = defaultdict(int)
    for row in scheduled:
        days[local(row.created_at, KOLKATA).date()] += 1
    assert max(days.values()) == 1  # never two new prompts a day
    assert sorted((local(r.created_at, KOLKATA).date() - START).days for r in scheduled) == \
        [2, 5, 7, 10, 14, 24]  # day 0's task came with her "yes"
    assert not [r for r in asha if r.key == "task.reminder"]  # she always answered
    with db.sessions() as session:
        project = session.scalars(select(Project).join(Person)
                                  .where(Person.phone == people["asha"])).one()
    assert project.status == "submitted"

    # Claudine: prompts at 10:00 Kigali time, reminders after 2, 4 and 8 days of silence
    # about the task in hand, then the project lapses 14 days after its last core task.
    claudine = outbox(db, people["claudine"])
    for row in claudine:
        if row.key in ("task.prompt", "task.reminder") and row.in_reply_to is None:
            at = local(row.created_at, KIGALI)
            assert dt.time(10) <= at.time() <= dt.time(10, 30), (row.key, at)
    reminders = [r for r in claudine if r.key == "task.reminder"]
    assert reminders, "a quiet headmaster is nudged"
    per_task = Counter(r.task_id for r in reminders)
    assert max(per_task.values()) <= 3
    lapsed = [r for r in claudine if r.key == "project.lapsed"]
    assert len(lapsed) == 1
    assert local(lapsed[0].created_at, KIGALI).date() == START + dt.timedelta(days=24 + 14)
    assert not [r for r in claudine if r.created_at > lapsed[0].created_at]

    # Ravi never answered: the invitation went once more, three days on, and only once; he
    # still hears that his block passed 50% when Asha finished.
    ravi = [r.key for r in outbox(db, people["ravi"])]
    assert ravi == ["invitation", "invitation.reminder", "celebration.block"]


def test_reminders_follow_the_task_in_hand(world):
    db, settings, people = world
    claudine = people["claudine"]
    say(db, settings, claudine, "yes", T0 + dt.timedelta(hours=6))  # task 1 asked at once
    march(db, settings, T0 + dt.timedelta(days=4, hours=12), T0)
    keys = [(r.key, r.task_id) for r in outbox(db, claudine) if r.in_reply_to is None]
    with db.sessions() as session:
        first, second = session.scalars(select(Task.id).join(Project).join(Person).where(
            Person.phone == claudine).order_by(Task.position).limit(2)).all()
    # Day 2: task 2 arrives; task 1's reminder, also due that day, no longer goes.
    assert ("task.prompt", second) in keys
    assert ("task.reminder", first) not in keys
    assert ("task.reminder", second) in keys  # day 4, two days after task 2


def test_later_and_pause(world):
    db, settings, people = world
    asha = people["asha"]
    day0 = T0 + dt.timedelta(hours=1)
    say(db, settings, asha, "yes", day0)
    say(db, settings, asha, "later", day0 + dt.timedelta(minutes=5))
    march(db, settings, T0 + dt.timedelta(days=1, hours=12), T0)
    prompts = [r for r in outbox(db, asha) if r.key == "task.prompt"]
    assert [local(r.created_at, KOLKATA).date() for r in prompts] == [START, START +
                                                                      dt.timedelta(days=1)]
    say(db, settings, asha, "pause", T0 + dt.timedelta(days=1, hours=13))
    march(db, settings, T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=1, hours=13))
    assert not [r for r in outbox(db, asha) if r.key == "task.reminder"]
    say(db, settings, asha, "status", T0 + dt.timedelta(days=7, hours=1))  # resumes reminders
    with db.sessions() as session:
        assert session.scalars(select(Person.paused_until).where(Person.phone == asha)
                               ).one() is None


def test_nothing_due_twice_for_the_same_instant(world):
    db, settings, people = world
    say(db, settings, people["asha"], "yes", T0 + dt.timedelta(hours=1))
    at = T0 + dt.timedelta(days=2, hours=3)
    first = tick(db, settings, at, QUIET)
    again = tick(db, settings, at, QUIET)
    assert first.prompts == 1 and again.replies == 0


def test_quiet_hours_hold_scheduled_work_until_morning(world):
    db, settings, people = world
    say(db, settings, people["asha"], "yes", T0 + dt.timedelta(hours=1))
    night = dt.datetime(2026, 7, 8, 17, 0, tzinfo=dt.UTC)  # 22:30 in Satara, day 2
    assert tick(db, settings, night, QUIET).prompts == 0
    morning = dt.datetime(2026, 7, 9, 4, 30, tzinfo=dt.UTC)  # 10:00 the next day
    assert tick(db, settings, morning, QUIET).prompts == 1


def test_two_clocks_exactly_one_sends(world):
    db, settings, people = world
    say(db, settings, people["asha"], "yes", T0 + dt.timedelta(hours=1))
    say(db, settings, people["claudine"], "yes", T0 + dt.timedelta(hours=6))
    at = T0 + dt.timedelta(days=2, hours=9)  # both have a task due
    clocks = [Clock(db, settings, interval=60), Clock(db, settings, interval=60)]
    barrier = threading.Barrier(2)
    reports = []

    def beat(clock):
        barrier.wait()
        reports.append(clock.beat(at))

    threads = [threading.Thread(target=beat, args=(c,)) for c in clocks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    active = [r for r in reports if r is not None]
    assert len(active) == 1 and active[0].prompts == 2
    with db.sessions() as session:
        prompts = session.scalars(select(Outbox.task_id).where(
            Outbox.key == "task.prompt", Outbox.in_reply_to.is_(None))).all()
    assert len(prompts) == len(set(prompts)) == 2
    # The standby takes over once the active clock is gone.
    clocks[0].leadership.release()
    clocks[1].leadership.release()
    standby = Clock(db, settings, interval=60)
    try:
        # A lease outlives a dead SQLite clock for up to three intervals; an advisory lock ends
        # with its connection. Either way, a standby leads three intervals later.
        assert standby.beat(at + dt.timedelta(minutes=4)) is not None
    finally:
        standby.leadership.release()


def test_many_triggers_in_small_batches_each_reach_their_person_once(world):
    db, settings, people = world
    for name in ("asha", "claudine"):
        say(db, settings, people[name], "yes", T0 + dt.timedelta(hours=6))
    with db.sessions() as session:
        due = [(pid, TaskDue(project_id, task_id)) for project_id, pid, task_id in
               session.execute(select(Project.id, Project.headmaster_id, Task.id)
                               .join(Task, Task.project_id == Project.id)
                               .join(Person, Person.id == Project.headmaster_id)
                               .where(Task.position == 2, Project.status == "started"))]
    assert len(due) == 2
    engine = Engine(db, settings, QUIET)
    assert engine.trigger_many(due, T0 + dt.timedelta(days=2, hours=6), batch=1) == 2
    prompts = [r.task_id for name in ("asha", "claudine")
               for r in outbox(db, people[name]) if r.key == "task.prompt"]
    assert sorted(prompts) == sorted({*prompts}) and len(prompts) == 4
