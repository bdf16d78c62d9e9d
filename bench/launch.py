"""Campaign launch benchmark: how long `storage.campaigns.launch` takes for a whole state.

For each run (a database and a number of schools N) it
  1. makes a fresh database and runs the migrations;
  2. loads N schools and their headmasters with storage.roster.upsert, and the template
     bot/shipped/templates/retell-the-tale.yaml (7 tasks) with storage.templates.load
     (neither is timed);
  3. times `launch(database, "retell-the-tale", ["all"])`, recording how long each SQL statement
     took, and checks what it wrote: N projects, 7N tasks, N invitations, N conversations;
  4. times two references on the same database, each INSERT ... SELECT in its own transaction,
     into scratch tables made with CREATE TABLE ... AS SELECT * ... WHERE 1 = 0 (the same
     columns, but no keys, indexes, defaults or foreign keys):
       (a) "project rows": the N project rows alone, from the same school/headmaster join; the
           floor for any set-based launch;
       (b) "all rows": the same 10N rows the launch writes (N projects, 7N tasks, N outbox rows,
           N conversations), with plain inserts; what is left between (b) and the launch is
           the cost of indexes, constraints, ON CONFLICT and the audience checks;
  5. times the worker's first claim of the queue the launch filled (storage.outbox.claim of 16
     rows) straight after it, and again after ANALYZE outbox: on PostgreSQL the claim's plan
     depends on outbox's statistics, which launch does not refresh.

The machine may be shared, so each timed part waits until the CPU is quiet and records the
share of the CPU other processes used meanwhile.

    .venv/bin/python bench/launch.py [--db sqlite|postgresql|both] [--schools N] [--explain]

Without --schools: 100,000 on PostgreSQL (target 20 s), 10,000 on SQLite (target 5 s), and
100,000 on SQLite for information. --explain (PostgreSQL) launches a second campaign to the
same schools with EXPLAIN (ANALYZE, BUFFERS) on each INSERT and prints the plan of the one that
was slowest in the timed launch. Prints a table and writes bench/out/launch.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import common
from sqlalchemy import event, text

from storage import outbox
from storage.campaigns import launch
from storage.db import Database
from storage.migrate import upgrade
from storage.roster import RosterPerson, RosterSchool, upsert
from storage.templates import load, parse

TEMPLATE = common.ROOT / "bot" / "shipped" / "templates" / "retell-the-tale.yaml"
TARGETS = {("postgresql", 100_000): 20.0, ("sqlite", 10_000): 5.0}  # seconds, from the issue
DEFAULT_RUNS = (("postgresql", 100_000), ("sqlite", 10_000), ("sqlite", 100_000))
SCRATCH = ("project", "task", "outbox", "conversation")
CLAIM_TIMEOUT_S = 60  # PostgreSQL's statement_timeout for the first claim after the launch

# Reference (b): the rows the launch writes, into bare copies of its four tables.
ALL_ROWS = {
    "project": """INSERT INTO bench_project (id, campaign_id, school_id, headmaster_id, status,
                      invited_at)
                  SELECT s.id, 0, s.id, p.id, 'invited', CURRENT_TIMESTAMP
                  FROM school s JOIN person p ON p.school_id = s.id AND p.role = 'headmaster'""",
    "task": """INSERT INTO bench_task (id, project_id, position, template_task_id, origin,
                   mandatory, evidence, due_on, status)
               SELECT b.id * 8 + t.position, b.id, t.position, t.id, 'template', t.mandatory,
                      t.evidence, CURRENT_DATE, 'not_started'
               FROM bench_project b CROSS JOIN template_task t""",
    "outbox": """INSERT INTO bench_outbox (id, person_id, phone, channel, key, params, options,
                     status, attempts, next_attempt_at, created_at, project_id)
                 SELECT b.id, p.id, p.phone, p.channel, 'invitation', '{}', '[]', 'queued', 0,
                        CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, b.id
                 FROM bench_project b JOIN person p ON p.id = b.headmaster_id""",
    "conversation": """INSERT INTO bench_conversation (person_id, state, context, updated_at)
                       SELECT b.headmaster_id, 'invited', '{}', CURRENT_TIMESTAMP
                       FROM bench_project b""",
}


# --- seeding (not timed) ----------------------------------------------------------------------

def roster(n: int) -> tuple[list[RosterSchool], list[RosterPerson]]:
    """N schools in 3 districts and 40 blocks, each with one headmaster."""
    schools = [RosterSchool(code=f"2731{i:07d}", name=f"ZP School {i}",
                            district=("Satara", "Pune", "Nashik")[i % 3], block=f"Block {i % 40}",
                            cluster=f"Cluster {i % 200}") for i in range(n)]
    people = [RosterPerson(phone=f"+9198{i:08d}", name=f"Headmaster {i}", role="headmaster",
                           language=("hi", "mr", "en")[i % 3], school_code=s.code,
                           district=s.district, block=s.block) for i, s in enumerate(schools)]
    return schools, people


def seed(database: Database, n: int) -> float:
    upgrade(database.url)
    started = time.perf_counter()
    upsert(database, *roster(n))
    seconds = time.perf_counter() - started
    load(database, parse(TEMPLATE.read_text(encoding="utf-8")))
    return seconds


# --- measuring --------------------------------------------------------------------------------

@contextmanager
def statement_timer(database: Database) -> Iterator[list[tuple[float, str]]]:
    """Collects (seconds, statement) for every statement run on the database's engine."""
    timings: list[tuple[float, str]] = []

    def before(conn, cursor, statement, params, context, many):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):
        timings.append((time.perf_counter() - conn.info.pop("bench_started"), statement))

    event.listen(database.engine, "before_cursor_execute", before)
    event.listen(database.engine, "after_cursor_execute", after)
    try:
        yield timings
    finally:
        event.remove(database.engine, "before_cursor_execute", before)
        event.remove(database.engine, "after_cursor_execute", after)


def label(statement: str) -> str:
    """'INSERT INTO task', 'UPDATE project', 'SELECT ... school', 'ANALYZE school, pers'..."""
    words = " ".join(statement.split())
    if words.startswith("INSERT INTO"):
        return " ".join(words.split()[:3])
    if words.startswith("UPDATE"):
        return " ".join(words.split()[:2])
    if words.startswith("SELECT"):
        return "SELECT ... " + " ".join(words.split(" FROM ", 1)[-1].split()[:1])
    return words[:40]


def timed(ours: list[int], work) -> tuple[float, dict[str, float]]:
    """Runs work() once the machine is quiet; returns (seconds, CPU shares ours/others)."""
    common.wait_until_quiet(0.15, patience=120)
    meter = common.CpuMeter(ours)
    started = time.perf_counter()
    work()
    return time.perf_counter() - started, meter.stop()


def references(database: Database, ours: list[int]) -> dict[str, float]:
    """Times references (a) and (b), each in its own transaction, then drops the scratch."""
    with database.engine.begin() as connection:
        for table in SCRATCH:
            connection.execute(text(f"CREATE TABLE bench_{table} AS SELECT * FROM {table}"
                                    " WHERE 1 = 0"))

    def run(statements: list[str]) -> None:
        with database.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))

    project_rows, _ = timed(ours, lambda: run([ALL_ROWS["project"]]))
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM bench_project"))
    all_rows, _ = timed(ours, lambda: run(list(ALL_ROWS.values())))
    with database.engine.begin() as connection:
        for table in SCRATCH:
            connection.execute(text(f"DROP TABLE bench_{table}"))
    return {"project_rows_s": round(project_rows, 3), "all_rows_s": round(all_rows, 3)}


def first_claims(url: str, kind: str) -> dict[str, float | None]:
    """Seconds the worker's first claim (2 x 8 threads) takes straight after the launch, and
    again once outbox has statistics (ANALYZE); None if it ran past CLAIM_TIMEOUT_S."""
    if kind == "postgresql":  # a libpq option on this Database's connections only
        url += f"?options=-cstatement_timeout%3D{CLAIM_TIMEOUT_S * 1000}"
    database = Database(url)
    seconds: dict[str, float | None] = {}
    try:
        for name in ("claim_after_launch_s", "claim_after_analyze_s"):
            if name == "claim_after_analyze_s":
                with database.engine.begin() as connection:
                    connection.execute(text("ANALYZE outbox"))
            started = time.perf_counter()
            try:
                claimed = outbox.claim(database, 16, dt.datetime.now(dt.UTC))
                seconds[name] = round(time.perf_counter() - started, 3)
                assert len(claimed) == 16, claimed
            except Exception as error:  # the statement timeout, on PostgreSQL
                if "statement timeout" not in str(error):
                    raise
                seconds[name] = None
    finally:
        database.dispose()
    return seconds


def counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {table: connection.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("project", "task", "outbox", "conversation")}


def explain_slowest(database: Database, slowest: str) -> list[str]:
    """Launches a second campaign with EXPLAIN (ANALYZE, BUFFERS) on every INSERT ... SELECT
    (so its report is meaningless); returns the plan of the INSERT labelled `slowest`."""
    plans: dict[str, list[str]] = {}

    def before(conn, cursor, statement, params, context, many):
        if statement.lstrip().startswith("INSERT INTO") and "RETURNING" not in statement:
            statement = "EXPLAIN (ANALYZE, BUFFERS) " + statement
        return statement, params

    def after(conn, cursor, statement, params, context, many):
        if statement.startswith("EXPLAIN"):
            plans[label(statement.split(") ", 1)[1])] = [row[0] for row in cursor.fetchall()]

    event.listen(database.engine, "before_cursor_execute", before, retval=True)
    event.listen(database.engine, "after_cursor_execute", after)
    try:
        launch(database, "retell-the-tale", ["all"], name="explain")
    finally:
        event.remove(database.engine, "before_cursor_execute", before)
        event.remove(database.engine, "after_cursor_execute", after)
    return plans.get(slowest, [f"(no plan captured for {slowest}; have {list(plans)})"])


def measure(kind: str, n: int, args: argparse.Namespace, workdir: Path) -> dict:
    workdir = workdir / f"{kind}-{n}"  # each SQLite run gets its own file
    workdir.mkdir()
    with common.fresh_database(kind, workdir, args.pg_url) as url:
        database = Database(url)
        try:
            seed_s = seed(database, n)
            print(f"[{kind} {n:,}] roster loaded in {seed_s:.1f} s (not timed)", flush=True)
            ours = [os.getpid(), *common.database_backends(url)]
            reports = []
            with statement_timer(database) as timings:
                seconds, cpu = timed(ours, lambda: reports.append(
                    launch(database, "retell-the-tale", ["all"])))
            written = counts(database)
            expected = {"project": n, "task": 7 * n, "outbox": n, "conversation": n}
            reported = (reports[0].projects_created, reports[0].headmasters_invited)
            statements: dict[str, float] = {}
            for spent, statement in timings:
                statements[label(statement)] = statements.get(label(statement), 0) + spent
            slowest = sorted(statements.items(), key=lambda item: -item[1])
            rest = seconds - sum(statements.values())  # Python, COMMIT, the pool
            ref = references(database, ours)
            claims = first_claims(url, kind)
            result = {
                "database": kind, "schools": n, "seconds": round(seconds, 3), "cpu": cpu,
                "written": written, "reported": reported,
                "correct": written == expected and reported == (n, n),
                "statements": {name: round(s, 3) for name, s in slowest},
                "outside_statements_s": round(rest, 3),
                **ref, "ratio_project_rows": round(seconds / ref["project_rows_s"], 1),
                "ratio_all_rows": round(seconds / ref["all_rows_s"], 2),
                "target_s": TARGETS.get((kind, n)), "roster_load_s": round(seed_s, 1),
                **claims,
            }
            print(f"[{kind} {n:,}] launch {seconds:.2f} s (others used {cpu['others']:.0%} of "
                  f"the CPU); references: project rows {ref['project_rows_s']:.2f} s, all rows "
                  f"{ref['all_rows_s']:.2f} s; wrote {written}", flush=True)
            for name, spent in [*slowest[:5], ("outside statements (Python, COMMIT)", rest)]:
                print(f"    {spent:7.3f} s  {name}")
            after_launch, after_analyze = map(seconds_or_timeout, claims.values())
            print(f"  the worker's first claim: {after_launch} straight after the launch, "
                  f"{after_analyze} after ANALYZE outbox", flush=True)
            if args.explain and kind == "postgresql":
                insert = next(name for name, _ in slowest if name.startswith("INSERT"))
                plan = explain_slowest(database, insert)
                result["explain"] = {insert: plan}
                print(f"  EXPLAIN (ANALYZE, BUFFERS) of {insert} (second launch):")
                print("\n".join("    " + line for line in plan))
            return result
        finally:
            database.dispose()


def seconds_or_timeout(seconds: float | None) -> str:
    return f"> {CLAIM_TIMEOUT_S} s (timed out)" if seconds is None else f"{seconds:.3f} s"


def table(results: list[dict]) -> str:
    lines = ["| database | schools | launch | ref. project rows (ratio) | ref. all rows (ratio) "
             "| slowest statement | target | met | counts | first claim after launch "
             "| after ANALYZE |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        name, spent = next(iter(r["statements"].items()))
        target = f"≤ {r['target_s']:g} s" if r["target_s"] else "(information)"
        met = ("yes" if r["seconds"] <= r["target_s"] else "NO") if r["target_s"] else "-"
        lines.append(f"| {r['database']} | {r['schools']:,} | {r['seconds']:.2f} s | "
                     f"{r['project_rows_s']:.2f} s ({r['ratio_project_rows']}x) | "
                     f"{r['all_rows_s']:.2f} s ({r['ratio_all_rows']}x) | {name}: {spent:.2f} s "
                     f"| {target} | {met} | {'ok' if r['correct'] else 'WRONG'} | "
                     f"{seconds_or_timeout(r['claim_after_launch_s'])} | "
                     f"{seconds_or_timeout(r['claim_after_analyze_s'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--schools", type=int, help="N (default: see the module docstring)")
    parser.add_argument("--explain", action="store_true",
                        help="PostgreSQL: print the plan of the slowest INSERT")
    parser.add_argument("--pg-url", default=common.PG_ADMIN_URL,
                        help="an admin URL; a fresh database is created beside it")
    args = parser.parse_args()
    kinds = ("postgresql", "sqlite") if args.db == "both" else (args.db,)
    runs = [(k, args.schools) for k in kinds] if args.schools else \
        [(k, n) for k, n in DEFAULT_RUNS if k in kinds]
    common.OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kadam-bench-") as tmp:
        results = [measure(kind, n, args, Path(tmp)) for kind, n in runs]
    report = {"benchmark": "launch", "command": " ".join(["bench/launch.py", *sys.argv[1:]]),
              "machine": common.machine(args.pg_url if "postgresql" in kinds else None),
              "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "results": results}
    (common.OUT / "launch.json").write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nwrote {common.OUT / 'launch.json'}")
    if not all(r["correct"] for r in results):
        sys.exit("a launch did not write N projects, 7N tasks, N invitations, N conversations")


if __name__ == "__main__":
    main()
