"""The clock's tick at state scale, on PostgreSQL.

Target (issue: schedules): over 1,000,000 active projects with 50,000 tasks due, a tick takes
15 s or less; with nothing due, 100 ms or less.

The data is generated in SQL (generate_series): N schools, headmasters and running projects
of "Retell the Tale" with their 7 tasks each; task 1 done, task 2 due now for `--due` projects
and due in two days for the rest, later tasks in the future. The reference, measured in the
same run, is the floor for any implementation: one INSERT ... SELECT of the same number of
outbox rows and one UPDATE of the same number of tasks.

    .venv/bin/python bench/tick.py [--projects 1000000] [--due 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import OUT, ROOT, fresh_database  # noqa: E402
from bot.clock.clock import tick  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage import due  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.schedule import QuietHours  # noqa: E402
from storage.templates import load, parse  # noqa: E402

# 10:30 in Asia/Kolkata on a weekday: daytime, so quiet hours hold nothing back.
NOW = dt.datetime(2026, 7, 8, 5, 0, tzinfo=dt.UTC)
DAYTIME = QuietHours()


def generate(database: Database, projects: int, due_now: int) -> None:
    load(database, parse((ROOT / "bot" / "shipped" / "templates" / "retell-the-tale.yaml")
                         .read_text("utf-8")))
    started = NOW - dt.timedelta(days=2)
    statements = [
        """INSERT INTO school (code, name, district, block, cluster, state)
           SELECT 'S' || g, 'School ' || g, 'District ' || (g % 40), 'Block ' || (g % 1500),
                  '', 'State' FROM generate_series(1, :n) g""",
        """INSERT INTO person (phone, name, role, language, school_id, district, block, channel,
                               sms_allowed, created_at, updated_at)
           SELECT '+9170' || lpad(g::text, 8, '0'), 'Headmaster ' || g, 'headmaster', 'hi', g,
                  'District ' || (g % 40), 'Block ' || (g % 1500), 'whatsapp', true, :now, :now
           FROM generate_series(1, :n) g""",
        """INSERT INTO campaign (template_id, name, audience, start_date, settings, created_at)
           SELECT id, 'Retell the Tale', '["all"]', :start,
                  '{"send_time": "10:00", "reminder_after_days": 2, "max_reminders": 3,
                    "lapse_after_days": 14, "invitation_resend_after_days": 3}', :now
           FROM template""",
        """INSERT INTO project (campaign_id, school_id, headmaster_id, status, invited_at,
                                started_at, lapse_at)
           SELECT 1, g, g, 'in_progress', :started, :started, :now + interval '40 days'
           FROM generate_series(1, :n) g""",
        """INSERT INTO task (project_id, position, template_task_id, origin, mandatory, evidence,
                             due_on, status, prompt_at, prompted_at, reminders_sent,
                             completed_at)
           SELECT p, tt.position, tt.id, 'template', tt.mandatory, tt.evidence,
                  :start + tt.day,
                  CASE WHEN tt.position = 1 THEN 'completed' ELSE 'not_started' END,
                  CASE WHEN tt.position = 1 THEN NULL
                       WHEN tt.position = 2 AND p <= :due THEN :now - interval '30 minutes'
                       ELSE :now + make_interval(days => tt.day) END,
                  CASE WHEN tt.position = 1 THEN :started END, 0,
                  CASE WHEN tt.position = 1 THEN :started END
           FROM generate_series(1, :n) p CROSS JOIN template_task tt""",
    ]
    params = {"n": projects, "due": due_now, "now": NOW, "started": started,
              "start": started.date()}
    with database.engine.begin() as connection:
        for statement in statements:
            started_at = time.perf_counter()
            connection.execute(text(statement), params)
            print(f"  generated in {time.perf_counter() - started_at:5.1f} s: "
                  f"{statement.split()[2]}", flush=True)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def explain(database: Database) -> list[str]:
    """The plans the tick relies on: each due query walks one index over due rows only."""
    queries = {
        "task prompts": "SELECT task.id FROM task JOIN project ON project.id = task.project_id "
                        "WHERE task.prompt_at <= :now AND task.status IN "
                        "('not_started', 'in_progress') AND project.status IN "
                        "('started', 'in_progress')",
        "reminders": "SELECT task.id FROM task WHERE task.next_reminder_at <= :now",
        "lapses": "SELECT project.id FROM project WHERE project.lapse_at <= :now",
        "invitations": "SELECT project.id FROM project WHERE "
                       "project.invitation_reminder_at <= :now",
    }
    lines = []
    with database.engine.connect() as connection:
        for name, sql in queries.items():
            plan = connection.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}"),
                                      {"now": NOW}).scalars().all()
            lines.append(f"{name}:")
            lines.extend(f"    {row}" for row in plan)
    return lines


def nothing_due(database: Database, settings: Settings, runs: int = 20) -> list[float]:
    early = NOW - dt.timedelta(hours=2)  # 08:30 local: nothing has fallen due yet
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        report = tick(database, settings, early, DAYTIME)
        times.append(time.perf_counter() - started)
        assert report.replies == 0, report
    return times


def reference(database: Database, due_now: int) -> float:
    """The floor: one statement to queue the messages and one to mark the tasks, undone."""
    with database.engine.connect() as connection:
        transaction = connection.begin()
        started = time.perf_counter()
        connection.execute(text(
            """INSERT INTO outbox (person_id, phone, channel, key, params, options, status,
                                   attempts, next_attempt_at, created_at, task_id, project_id)
               SELECT project.headmaster_id, '+91', 'whatsapp', 'task.prompt', '{}', '[]',
                      'queued', 0, :now, :now, task.id, task.project_id
               FROM task JOIN project ON project.id = task.project_id
               WHERE task.prompt_at <= :now"""), {"now": NOW})
        connection.execute(text(
            "UPDATE task SET prompted_at = :now, prompt_at = NULL WHERE prompt_at <= :now"),
            {"now": NOW})
        elapsed = time.perf_counter() - started
        transaction.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true",
                        help="run the busy tick under cProfile and print where it spends")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, \
            fresh_database("postgresql", Path(workdir)) as url:
        upgrade(url)
        database = Database(url)
        settings = Settings(database_url=url, timezone="Asia/Kolkata")
        print(f"generating {args.projects:,} running projects, {args.due:,} tasks due ...")
        generate(database, args.projects, args.due)
        plans = explain(database)
        print("\n".join(plans))
        idle = nothing_due(database, settings)
        floor = reference(database, args.due)
        with database.sessions() as session:
            found = len(due.task_prompts(session, NOW, settings.timezone, DAYTIME))
        assert found == args.due, found
        profiler = None
        if args.profile:
            import cProfile

            import bot.engine.engine

            class InThisThread:  # cProfile sees one thread: run the batches here, in turn
                def __init__(self, max_workers: int = 1) -> None:
                    pass

                def __enter__(self) -> InThisThread:
                    return self

                def __exit__(self, *exc: object) -> None:
                    pass

                def map(self, function, items):  # noqa: ANN001, ANN201
                    return map(function, items)

            bot.engine.engine.ThreadPoolExecutor = InThisThread  # type: ignore[misc, assignment]
            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        report = tick(database, settings, NOW, DAYTIME)
        busy = time.perf_counter() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(70)
        with database.engine.connect() as connection:
            queued = connection.execute(text(
                "SELECT count(*) FROM outbox WHERE key = 'task.prompt'")).scalar()
        assert report.prompts == args.due and queued == args.due, (report, queued)
        again = tick(database, settings, NOW, DAYTIME)
        assert again.replies == 0, again
        database.dispose()
    result = {
        "projects": args.projects, "due": args.due,
        "tick_due_s": round(busy, 2), "reference_s": round(floor, 2),
        "ratio_to_reference": round(busy / floor, 1),
        "nothing_due_ms_median": round(statistics.median(idle) * 1000, 1),
        "nothing_due_ms_max": round(max(idle) * 1000, 1),
        "plans": plans,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "tick.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "plans"}, indent=2))


if __name__ == "__main__":
    main()
