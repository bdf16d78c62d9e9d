"""A broadcast to a million headmasters, on PostgreSQL.

Target (issue): a broadcast to 1,000,000 recipients queued on PostgreSQL in 60 s or less.

The data is generated in SQL (generate_series): N schools in 40 districts and 1,500 blocks, a
headmaster each, 1% of them opted out. `storage.broadcasts.create(db, {"en", "hi"}, ["all"],
"headmaster")` is timed (every statement's time recorded); it must queue one outbox row per
headmaster and its report must add up (audience N, 99% queued, 1% opted out). The reference,
timed first in the same run and rolled back, is the floor: one bare INSERT INTO outbox ...
SELECT of the same N rows from person, into the same table with the same indexes.

    .venv/bin/python bench/broadcast.py [--schools 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, text  # noqa: E402

from bench import common  # noqa: E402
from storage import broadcasts  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Outbox  # noqa: E402

NOW = dt.datetime(2026, 7, 8, 5, 0, tzinfo=dt.UTC)
TARGET_S = 60.0
MESSAGE = {"en": "Namaste! The state reading week starts on Monday: please read one story "
                 "aloud in every class.",
           "hi": "नमस्ते! राज्य पठन सप्ताह सोमवार से शुरू होगा: कृपया हर कक्षा में एक कहानी पढ़कर "
                 "सुनाएँ।"}
GENERATE = [
    """INSERT INTO school (code, name, district, block, cluster, state)
       SELECT 'S' || g, 'School ' || g, 'District ' || (g % 40), 'Block ' || (g % 1500), '',
              'State' FROM generate_series(1, :n) g""",
    """INSERT INTO person (phone, name, role, language, school_id, district, block, channel,
                          sms_allowed, opted_out_at, created_at, updated_at)
       SELECT '+9170' || lpad(g::text, 8, '0'), 'Headmaster ' || g, 'headmaster',
              CASE WHEN g % 3 = 0 THEN 'en' ELSE 'hi' END, g, 'District ' || (g % 40),
              'Block ' || (g % 1500), CASE WHEN g % 10 = 0 THEN 'sms' ELSE 'whatsapp' END,
              true, CASE WHEN g % 100 = 0 THEN :now - interval '3 days' END, :now, :now
       FROM generate_series(1, :n) g""",
]
REFERENCE = """
    INSERT INTO outbox (person_id, phone, channel, key, params, options, status, attempts,
                        next_attempt_at, created_at, media_url)
    SELECT id, phone, channel, 'broadcast', '{}', '[]', 'queued', 0, :now, :now, NULL
    FROM person"""


def generate(database: Database, n: int) -> None:
    with database.engine.begin() as connection:
        for statement in GENERATE:
            started = time.perf_counter()
            connection.execute(text(statement), {"n": n, "now": NOW})
            print(f"  generated in {time.perf_counter() - started:5.1f} s: "
                  f"{' '.join(statement.split()[:3])}", flush=True)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def ours(database: Database) -> list[int]:
    return [os.getpid(), *common.database_backends(database.url)]


def reference(database: Database) -> tuple[float, dict]:
    """The bare INSERT ... SELECT, rolled back; then VACUUM so the timed run starts clean."""
    with database.engine.connect() as connection:
        transaction = connection.begin()
        common.wait_until_quiet(0.15, patience=120)
        meter = common.CpuMeter(ours(database))
        started = time.perf_counter()
        rows = connection.execute(text(REFERENCE), {"now": NOW}).rowcount
        seconds = time.perf_counter() - started
        cpu = meter.stop()
        transaction.rollback()
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE outbox"))
    print(f"reference: {rows:,} rows in {seconds:.2f} s", flush=True)
    return seconds, cpu


def timed_create(database: Database) -> tuple[float, dict, Counter, broadcasts.BroadcastReport]:
    spent: Counter[str] = Counter()

    def before(conn, cursor, statement, params, context, many):  # noqa: ANN001
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):  # noqa: ANN001
        spent[" ".join(statement.split())[:70]] += time.perf_counter() - conn.info.pop(
            "bench_started")

    event.listen(database.engine, "before_cursor_execute", before)
    event.listen(database.engine, "after_cursor_execute", after)
    common.wait_until_quiet(0.15, patience=120)
    meter = common.CpuMeter(ours(database))
    started = time.perf_counter()
    report = broadcasts.create(database, MESSAGE, ["all"], "headmaster", now=NOW)
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    event.remove(database.engine, "before_cursor_execute", before)
    event.remove(database.engine, "after_cursor_execute", after)
    return seconds, cpu, spent, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=1_000_000)
    args = parser.parse_args()
    common.run_on_a_copy("broadcast.py")
    n, opted_out = args.schools, args.schools // 100
    with tempfile.TemporaryDirectory() as workdir, \
            common.fresh_database("postgresql", Path(workdir)) as url:
        upgrade(url)
        database = Database(url)
        print(f"generating {n:,} schools and headmasters ...", flush=True)
        generate(database, n)
        load_before = os.getloadavg()
        floor, floor_cpu = reference(database)
        seconds, cpu, spent, report = timed_create(database)
        print(f"broadcast: {seconds:.2f} s (others used {cpu['others']:.0%} of the CPU)",
              flush=True)
        with database.sessions() as session:
            rows = session.scalar(select(func.count()).select_from(Outbox).where(
                Outbox.broadcast_id == report.broadcast_id))
            again = broadcasts.report(session, report.broadcast_id)
        database.dispose()
    adds_up = (rows == n and report.audience == n == sum(report.by_status.values())
               and report.by_status == Counter(queued=n - opted_out, opted_out=opted_out)
               and again.by_status == report.by_status)
    result = {
        "benchmark": "broadcast", "command": " ".join(["bench/broadcast.py", *sys.argv[1:]]),
        "machine": common.machine(common.PG_ADMIN_URL), "code": common.code_version(),
        "load_average_before": [round(v, 2) for v in load_before],
        "recipients": n, "broadcast_s": round(seconds, 2), "target_s": TARGET_S,
        "met": seconds <= TARGET_S, "reference_s": round(floor, 2),
        "ratio_to_reference": round(seconds / floor, 2), "cpu": cpu, "reference_cpu": floor_cpu,
        "statements": {k: round(v, 2) for k, v in spent.most_common(6)},
        "outbox_rows": rows, "report": dict(report.by_status), "adds_up": adds_up,
    }
    common.OUT.mkdir(exist_ok=True)
    (common.OUT / "broadcast.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not adds_up:
        sys.exit("the broadcast did not queue one row per headmaster, or its report is off")


if __name__ == "__main__":
    main()
