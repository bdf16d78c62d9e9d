"""Officers' weekly digests at state scale, on PostgreSQL.

Target (issue): digests for 150,000 schools and 1,500 BEOs computed and queued in 10 s or less.

The data is generated in SQL (generate_series): 30 districts x 50 blocks x 100 schools, a
headmaster each, a BEO per block and a DEO per district (all due), one campaign of "Retell the
Tale" with a project per school in a mix of statuses (10% invited, 15% started, 45% in
progress, 20% submitted, 10% lapsed), last replies spread over three weeks, 7 tasks each (done
up to a point; 3% of the running projects asked for help this week) and a photo this week for
3% of the schools whose first task is done. One `tick` is timed at Monday 09:30 in
Asia/Kolkata with nothing else due, so its time is the digests; it must queue one "digest" row
per officer, and a sample (every DEO, 30 BEOs) must render to 1,000 characters or less before
the numbered options. The reference, measured in the same run, is the floor: one GROUP BY over
project x school by district and block, counting what the digests count.

`--what-if` times the tick again with the fix proposed in docs/benchmarks.md patched in (in
this process only) and checks that it queues the same digests; `--profile` runs the tick once
more, as it is, under cProfile.

    .venv/bin/python bench/digests.py [--districts 30] [--blocks 50] [--schools 100]
                                      [--what-if] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, text  # noqa: E402

import storage.digests as digest_store  # noqa: E402
from bench import common  # noqa: E402
from bot.clock.clock import tick  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.language.officer_messages import DIGEST_LIMIT  # noqa: E402
from bot.worker.outbound import render_row  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Outbox, Person  # noqa: E402
from storage.schedule import QuietHours  # noqa: E402
from storage.templates import load, parse  # noqa: E402

NOW = dt.datetime(2026, 7, 6, 4, 0, tzinfo=dt.UTC)  # Monday 09:30 in Asia/Kolkata
DAYTIME = QuietHours()
TARGET_S = 10.0
TITLES = ("Retell the Tale", "कहानी अपनी ज़ुबानी")  # a digest that names none has no section

# :n schools; school g is in district (g-1)/:per_district, block ((g-1)/:per_block) % :blocks.
AREA = """'District ' || ((g - 1) / :per_district) AS district,
          'Block ' || ((g - 1) / :per_district) || '.' || ((g - 1) / :per_block) % :blocks
          AS block"""
STATUS = """CASE WHEN g % 20 < 2 THEN 'invited' WHEN g % 20 < 5 THEN 'started'
                 WHEN g % 20 < 14 THEN 'in_progress' WHEN g % 20 < 18 THEN 'submitted'
                 ELSE 'lapsed' END"""
GENERATE = [
    f"""INSERT INTO school (code, name, district, block, cluster, state)
        SELECT 'S' || g, 'ZP School ' || g, district, block, '', 'State'
        FROM (SELECT g, {AREA} FROM generate_series(1, :n) g) s""",
    f"""INSERT INTO person (phone, name, role, language, school_id, district, block, channel,
                           sms_allowed, created_at, updated_at)
        SELECT '+9170' || lpad(g::text, 8, '0'), 'Headmaster ' || g, 'headmaster', 'hi', g,
               district, block, 'whatsapp', true, :now, :now
        FROM (SELECT g, {AREA} FROM generate_series(1, :n) g) s""",
    # A BEO for the block of every :per_block-th school, a DEO for every district.
    f"""INSERT INTO person (phone, name, role, language, district, block, channel, sms_allowed,
                           next_digest_at, created_at, updated_at)
        SELECT '+9171' || lpad(g::text, 8, '0'), 'BEO ' || g, 'beo',
               CASE WHEN g % 3 = 0 THEN 'en' ELSE 'hi' END, district, block, 'whatsapp', true,
               :now - interval '30 minutes', :now, :now
        FROM (SELECT g, {AREA} FROM generate_series(1, :n, :per_block) g) s""",
    f"""INSERT INTO person (phone, name, role, language, district, block, channel, sms_allowed,
                           next_digest_at, created_at, updated_at)
        SELECT '+9172' || lpad(g::text, 8, '0'), 'DEO ' || g, 'deo', 'en', district, '',
               'whatsapp', true, :now - interval '30 minutes', :now, :now
        FROM (SELECT g, {AREA} FROM generate_series(1, :n, :per_district) g) s""",
    """INSERT INTO campaign (template_id, name, audience, start_date, settings, created_at)
       SELECT id, 'Retell the Tale', '["all"]', :start, '{"send_time": "10:00"}', :start
       FROM template""",
    # Last reply 0..20 days ago (a third of the running ones are silent for 7 days or more).
    f"""INSERT INTO project (campaign_id, school_id, headmaster_id, status, invited_at,
                            started_at, completed_at, lapsed_at, last_reply_at)
        SELECT 1, g, g, status, :start,
               CASE WHEN status <> 'invited' THEN :start + interval '1 day' END,
               CASE WHEN status = 'submitted' THEN :now - make_interval(days => g % 14) END,
               CASE WHEN status = 'lapsed' THEN :now - interval '2 days' END,
               CASE WHEN status <> 'invited'
                    THEN :now - make_interval(days => (g * 7919) % 21, hours => g % 24) END
        FROM (SELECT g, {STATUS} AS status FROM generate_series(1, :n) g) p""",
    # Done up to position k (all for submitted); for 3% of the running ones the next task
    # asked for help this week.
    """INSERT INTO task (project_id, position, template_task_id, origin, mandatory, evidence,
                        due_on, status, completed_at, help_requested_at, reminders_sent)
       SELECT p.id, tt.position, tt.id, 'template', tt.mandatory, tt.evidence,
              :start + tt.day,
              CASE WHEN tt.position <= k THEN 'completed' WHEN tt.position = k + 1
                   AND p.status IN ('started', 'in_progress') THEN 'in_progress'
                   ELSE 'not_started' END,
              CASE WHEN tt.position <= k THEN :now - make_interval(days => 8 - tt.position) END,
              CASE WHEN tt.position = k + 1 AND (p.id * 7919) % 97 < 3 AND p.status IN
                   ('started', 'in_progress') THEN :now - interval '2 days' END, 0
       FROM (SELECT id, status, CASE status WHEN 'submitted' THEN 7 WHEN 'in_progress'
                    THEN 1 + id % 5 WHEN 'lapsed' THEN 1 ELSE 0 END AS k FROM project) p
       CROSS JOIN template_task tt""",
    """INSERT INTO evidence (task_id, kind, content_type, size, path, status, attempts,
                            created_at)
       SELECT t.id, 'photo', 'image/jpeg', 180000, 'media/' || t.id || '.jpg', 'stored', 0,
              :now - make_interval(days => (t.project_id % 6)::int, hours => 1)
       FROM task t WHERE t.position = 1 AND t.status = 'completed'
                   AND (t.project_id * 7919) % 89 < 3""",
]
COUNTS = {"school": "SELECT count(*) FROM school",
          "beo": "SELECT count(*) FROM person WHERE role = 'beo'",
          "deo": "SELECT count(*) FROM person WHERE role = 'deo'",
          "project": "SELECT count(*) FROM project", "task": "SELECT count(*) FROM task",
          "help_this_week": "SELECT count(*) FROM task WHERE help_requested_at IS NOT NULL",
          "photos_this_week": "SELECT count(*) FROM evidence"}
# The floor: everything the digests count, for every block, in one statement.
REFERENCE = """
    SELECT lower(trim(s.district)), lower(trim(s.block)), count(*),
           count(*) FILTER (WHERE p.status IN ('started', 'in_progress', 'submitted')),
           count(*) FILTER (WHERE p.status = 'submitted'),
           count(*) FILTER (WHERE p.completed_at >= :week),
           count(*) FILTER (WHERE p.status IN ('invited', 'started', 'in_progress') AND
               coalesce(p.last_reply_at, p.started_at, p.invited_at) < :week)
    FROM project p JOIN school s ON s.id = p.school_id GROUP BY 1, 2"""


def generate(database: Database, args: argparse.Namespace) -> dict[str, int]:
    load(database, parse((common.ROOT / "bot" / "shipped" / "templates" / "retell-the-tale.yaml")
                         .read_text("utf-8")))
    n = args.districts * args.blocks * args.schools
    params = {"n": n, "per_block": args.schools, "per_district": args.blocks * args.schools,
              "blocks": args.blocks, "now": NOW, "start": (NOW - dt.timedelta(days=21)).date()}
    with database.engine.begin() as connection:
        for statement in GENERATE:
            started = time.perf_counter()
            connection.execute(text(statement), params)
            print(f"  generated in {time.perf_counter() - started:5.1f} s: "
                  f"{' '.join(statement.split()[:3])}", flush=True)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        return {name: connection.execute(text(sql)).scalar() for name, sql in COUNTS.items()}


def reference(database: Database) -> float:
    with database.engine.connect() as connection:
        connection.execute(text(REFERENCE), {"week": NOW - dt.timedelta(days=7)}).all()  # warm
        started = time.perf_counter()
        connection.execute(text(REFERENCE), {"week": NOW - dt.timedelta(days=7)}).all()
        return time.perf_counter() - started


def timed_tick(database: Database, settings: Settings, compute: Any = None) -> dict[str, Any]:
    """One tick, with each statement's time, and the time in storage.digests.digests split
    into the clock's call for all officers and the engine's calls for one officer each.
    `compute` stands in for storage.digests.digests during the tick (the what-if)."""
    spent: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    original = digest_store.digests
    compute = compute or original

    def timed(session: Any, officers: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return compute(session, officers, *args, **kwargs)
        finally:
            phases["clock: all officers' digests" if len(officers) > 1 else
                   "engine: each officer's digest again"] += time.perf_counter() - started

    def before(conn, cursor, statement, params, context, many):  # noqa: ANN001
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):  # noqa: ANN001
        spent[" ".join(statement.split())[:90]] += time.perf_counter() - conn.info.pop(
            "bench_started")
        spent["statements run"] += 1

    event.listen(database.engine, "before_cursor_execute", before)
    event.listen(database.engine, "after_cursor_execute", after)
    digest_store.digests = timed
    try:
        common.wait_until_quiet(0.15, patience=120)
        meter = common.CpuMeter([os.getpid(), *common.database_backends(database.url)])
        started = time.perf_counter()
        report = tick(database, settings, NOW, DAYTIME)
        seconds = time.perf_counter() - started
        cpu = meter.stop()
    finally:
        digest_store.digests = original
        event.remove(database.engine, "before_cursor_execute", before)
        event.remove(database.engine, "after_cursor_execute", after)
    statements = spent.pop("statements run")
    return {"tick_s": round(seconds, 2), "digests": report.digests, "cpu": cpu,
            "sql_s": round(sum(spent.values()), 2),
            "outside_sql_s": round(seconds - sum(spent.values()), 2),
            "statements": statements, "phases_s": {k: round(v, 2) for k, v in phases.items()},
            "slowest_statements": {k: round(v, 2) for k, v in spent.most_common(6)}}


def grouped(original: Any) -> Any:
    """What-if (patched in for one tick, nothing in storage/ is changed): the fix proposed
    in docs/benchmarks.md. Each officer's rows come from a dict keyed by area, filled in one
    pass, instead of a scan of every row per officer; and the engine's snapshot reuses the
    digest the clock computed (here: a cache) instead of computing it again."""
    computed: dict[int, dict[str, Any]] = {}

    def digests(session: Any, officers: Any, now: Any, public_url: str = "", secret: str = ""
                ) -> dict[int, dict[str, Any]]:
        if len(officers) == 1 and officers[0].id in computed:
            return {officers[0].id: computed[officers[0].id]}
        areas = {o.id: a for o in officers if (a := digest_store.Area.of(o)) is not None}
        if len(areas) < len(officers):
            return original(session, officers, now, public_url, secret)
        in_districts = digest_store._district().in_(sorted({a.district for a in areas.values()}))
        rows: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
        for row in digest_store._project_rows(session, in_districts, now):
            rows[row.district, row.block].append(row)
            rows[row.district, None].append(row)
        photos: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
        for photo in digest_store._photos(session, in_districts, now, public_url, secret):
            photos[photo["d"], photo["b"]].append(photo)
            photos[photo["d"], None].append(photo)
        current = digest_store._current_tasks(session, in_districts)
        helped = digest_store._help_requests(session, in_districts, now)
        titles = digest_store._titles(session)
        for o in officers:
            key = (areas[o.id].district, areas[o.id].block)
            computed[o.id] = digest_store._assemble(areas[o.id], o, rows[key], current, helped,
                                                    titles, now, photos[key])
        return {o.id: computed[o.id] for o in officers}

    return digests


def check(database: Database, expected: int) -> dict:
    """Digest rows queued, and the rendered length of a sample (every DEO, 30 BEOs)."""
    with database.sessions() as session:
        queued = session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.key == "digest"))
        rows = session.execute(select(Outbox, Person).join(Person, Person.id == Outbox.person_id)
                               .where(Outbox.key == "digest").order_by(Person.id)).all()
        beos = [r for r in rows if r[1].role == "beo"]
        rows = [r for r in rows if r[1].role == "deo"] + beos[::max(1, len(beos) // 30)]
        lengths = {"beo": [], "deo": []}
        empty = []
        for row, person in rows:
            rendered = render_row(session, row, person)
            lengths[person.role].append((len(rendered.text), len(rendered.numbered())))
            if not any(title in rendered.text for title in TITLES):
                empty.append(person.role)
        sample = next(render_row(session, r, p) for r, p in rows if p.role == "beo")
        deo = next(render_row(session, r, p) for r, p in rows if p.role == "deo")
    within = all(t <= DIGEST_LIMIT for pairs in lengths.values() for t, _ in pairs)
    return {"queued": queued, "expected": expected, "sampled": len(rows),
            "max_text_chars": {k: max(t for t, _ in v) for k, v in lengths.items() if v},
            "max_with_options_chars": {k: max(n for _, n in v) for k, v in lengths.items() if v},
            "within_limit": within, "no_campaign_section": Counter(empty),
            "example_beo": sample.numbered(), "example_deo": deo.numbered()}


def due_again(database: Database) -> dict[int, Any]:
    """Deletes the queued digests (returning their params by officer) and makes every officer
    due again, for a second tick on the same data."""
    with database.engine.begin() as connection:
        queued = dict(connection.execute(text(
            "DELETE FROM outbox WHERE key = 'digest' RETURNING person_id, params")).all())
        connection.execute(text("UPDATE person SET next_digest_at = :at WHERE role IN "
                                "('beo', 'deo')"), {"at": NOW - dt.timedelta(minutes=30)})
    return queued


def profile(database: Database, settings: Settings) -> list[str]:
    """The tick again, as it is, under cProfile."""
    due_again(database)
    profiler = cProfile.Profile()
    profiler.runcall(tick, database, settings, NOW, DAYTIME)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue().splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=30)
    parser.add_argument("--blocks", type=int, default=50, help="per district, one BEO each")
    parser.add_argument("--schools", type=int, default=100, help="per block")
    parser.add_argument("--what-if", action="store_true", help="also time the proposed fix")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    common.run_on_a_copy("digests.py")
    officers = args.districts * (args.blocks + 1)
    with tempfile.TemporaryDirectory() as workdir, \
            common.fresh_database("postgresql", Path(workdir)) as url:
        upgrade(url)
        database = Database(url)
        settings = Settings(database_url=url, timezone="Asia/Kolkata",
                            public_url="https://kadam.example.org")
        print(f"generating {args.districts * args.blocks * args.schools:,} schools, "
              f"{officers:,} officers ...", flush=True)
        generated = generate(database, args)
        print(generated, flush=True)
        floor = reference(database)
        load_before = os.getloadavg()
        timed = timed_tick(database, settings)
        print(f"tick: {timed['tick_s']:.2f} s, {timed['digests']} digests (others used "
              f"{timed['cpu']['others']:.0%} of the CPU); reference {floor:.3f} s", flush=True)
        checked = check(database, officers)
        assert timed["digests"] == officers == checked["queued"], (timed, checked)
        what_if = {}
        if args.what_if:
            before = due_again(database)
            what_if = timed_tick(database, settings, grouped(digest_store.digests))
            after = due_again(database)
            what_if["same_params"] = before == after
            print(f"what-if: {what_if['tick_s']:.2f} s, same digests: {before == after}")
        profiled = profile(database, settings) if args.profile else []
        print("\n".join(profiled))
        database.dispose()
    result = {
        "benchmark": "digests", "command": " ".join(["bench/digests.py", *sys.argv[1:]]),
        "machine": common.machine(common.PG_ADMIN_URL), "code": common.code_version(),
        "load_average_before": [round(v, 2) for v in load_before], "generated": generated,
        "officers": officers, **timed, "target_s": TARGET_S, "met": timed["tick_s"] <= TARGET_S,
        "reference_s": round(floor, 3), "ratio_to_reference": round(timed["tick_s"] / floor),
        "check": checked, "what_if": what_if, "profile": profiled,
    }
    common.OUT.mkdir(exist_ok=True)
    (common.OUT / "digests.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("profile", "check")},
                     indent=2, default=str))
    print(checked["example_beo"], "\n---\n", checked["example_deo"], sep="")


if __name__ == "__main__":
    main()
