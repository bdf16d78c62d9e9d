"""Dashboard pages for a campaign of 100,000 projects, on PostgreSQL.

Target (issue): every page under 500 ms for a campaign of 100,000 projects on PostgreSQL.

The data is bench/digests.py's state generated in SQL (20 districts x 50 blocks x 100 schools,
one "Retell the Tale" campaign, statuses, tasks, photos), plus what the pages read beyond the
digests: fifteen outbound messages per project over three weeks (1,500,000 rows: delivered,
read, failed 63016, undelivered 30003 ...), two inbound messages per started project, a task
event per completed task and 1% of headmasters opted out. Users are made for the state, one
district and one block; each page is fetched in-process through Flask's test client (the whole
request: auth, queries, template), once to warm up and then RUNS times, and its median and
slowest are reported. The export files (not pages; they stream every row) are timed once each,
for information.

The reference, measured in the same run, is the floor a campaign page cannot beat: one
GROUP BY over project x school by district and block counting projects by status.

    .venv/bin/python bench/dashboard.py [--districts 20] [--blocks 50] [--schools 100]
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench import common  # noqa: E402
from bench import digests as state  # noqa: E402
from storage.admin_users import add_user  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

TARGET_MS = 500
RUNS = 7
PASSWORD = "benchmark password"
EXTRA = [
    # Fifteen messages per project (an invitation, seven task prompts, reminders, replies),
    # spread over the three weeks; statuses and errors in a realistic mix.
    """INSERT INTO outbox (person_id, phone, channel, key, params, options, status, attempts,
                          next_attempt_at, error_code, project_id, created_at, sent_at,
                          status_at)
       SELECT p.headmaster_id, '+9170' || lpad(p.headmaster_id::text, 8, '0'), 'whatsapp',
              (ARRAY['invitation', 'task.prompt', 'reminder'])[1 + k % 3], '{}', '[]',
              CASE WHEN (p.id + k) % 50 = 0 THEN 'failed'
                   WHEN (p.id + k) % 70 = 0 THEN 'undelivered'
                   WHEN (p.id + k) % 3 = 0 THEN 'read' ELSE 'delivered' END, 1,
              :start + make_interval(days => k * 7 / 5),
              CASE WHEN (p.id + k) % 50 = 0 THEN 63016 WHEN (p.id + k) % 70 = 0 THEN 30003 END,
              p.id, :start + make_interval(days => k * 7 / 5),
              :start + make_interval(days => k * 7 / 5),
              :start + make_interval(days => k * 7 / 5, mins => 5)
       FROM project p CROSS JOIN generate_series(1, 15) k""",
    """INSERT INTO inbound_message (sid, phone, person_id, channel, body, media, received_at)
       SELECT 'SM' || p.id || '_' || k, '+9170' || lpad(p.headmaster_id::text, 8, '0'),
              p.headmaster_id, 'whatsapp', CASE k WHEN 1 THEN 'yes' ELSE 'done' END, '[]',
              :start + make_interval(days => k * 3, mins => 30)
       FROM project p CROSS JOIN generate_series(1, 2) k WHERE p.status <> 'invited'""",
    """INSERT INTO task_event (task_id, at, status, note)
       SELECT id, completed_at, 'completed', NULL FROM task WHERE status = 'completed'""",
    """UPDATE person SET opted_out_at = :now WHERE role = 'headmaster' AND id % 100 = 7""",
]


def generate(database: Database, args: argparse.Namespace) -> dict[str, int]:
    counts = state.generate(database, args)
    params = {"now": state.NOW, "start": state.NOW - dt.timedelta(days=21)}
    with database.engine.begin() as connection:
        for statement in EXTRA:
            started = time.perf_counter()
            connection.execute(text(statement), params)
            print(f"  generated in {time.perf_counter() - started:5.1f} s: "
                  f"{' '.join(statement.split()[:3])}", flush=True)
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        counts["outbox"] = connection.execute(text("SELECT count(*) FROM outbox")).scalar()
        counts["inbound"] = connection.execute(
            text("SELECT count(*) FROM inbound_message")).scalar()
    with database.transaction() as session:
        add_user(session, "state@example.org", PASSWORD, "state", None)
        add_user(session, "district@example.org", PASSWORD, "district", "District 3")
        add_user(session, "block@example.org", PASSWORD, "block", "Block 3.7")
    return counts


def pages(app: Any, database: Database) -> list[tuple[str, str, str]]:
    """(user, page, URL) for every dashboard page that exists, on realistic arguments."""
    with database.engine.connect() as connection:
        code, project = connection.execute(text(
            """SELECT s.code, p.id FROM project p JOIN school s ON s.id = p.school_id
               WHERE s.block = 'Block 3.7' AND p.status = 'in_progress' LIMIT 1""")).one()
    wanted = [
        ("state", "campaigns", "admin.home", {}),
        ("state", "campaign", "admin.campaign", {"campaign_id": 1}),
        ("state", "district", "admin.campaign_district", {"campaign_id": 1,
                                                          "district": "District 3"}),
        ("state", "block", "admin.campaign_block", {"campaign_id": 1, "district": "District 3",
                                                    "block": "Block 3.7"}),
        ("state", "block, silent only", "admin.campaign_block",
         {"campaign_id": 1, "district": "District 3", "block": "Block 3.7", "silent": 1}),
        ("state", "school", "admin.school", {"code": code}),
        ("state", "project timeline", "admin.project", {"project_id": project}),
        ("state", "evidence gallery", "admin.evidence", {}),
        ("state", "evidence, one district", "admin.evidence", {"campaign": 1,
                                                                "district": "District 3"}),
        ("state", "delivery health", "admin.delivery", {}),
        ("state", "delivery, 30 days", "admin.delivery", {"period": "30"}),
        ("state", "delivery, all time", "admin.delivery", {"period": "all"}),
        ("state", "delivery, campaign", "admin.delivery", {"period": "all", "campaign": 1}),
        ("state", "broadcasts", "admin.broadcasts", {}),
        ("state", "exports", "admin.exports", {}),
        ("state", "launch form", "admin.launch", {}),
        ("district", "campaign", "admin.campaign", {"campaign_id": 1}),
        ("district", "delivery health", "admin.delivery", {}),
        ("block", "campaign", "admin.campaign", {"campaign_id": 1}),
        ("block", "evidence gallery", "admin.evidence", {}),
    ]
    found = []
    with app.test_request_context():
        from flask import url_for

        for user, label, endpoint, kwargs in wanted:
            if endpoint in app.view_functions:
                found.append((user, label, url_for(endpoint, **kwargs)))
            else:
                print(f"  (no page {endpoint} yet)")
    return found


def signed_in(app: Any, user: str) -> Any:
    import re

    client = app.test_client()
    html = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = client.post("/admin/login", data={"email": f"{user}@example.org",
                                                 "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def time_pages(app: Any, database: Database) -> list[dict[str, Any]]:
    clients = {user: signed_in(app, user) for user in ("state", "district", "block")}
    results = []
    for user, label, url in pages(app, database):
        client = clients[user]
        response = client.get(url)  # warm: compiled templates, cached statements
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        results.append({"user": user, "page": label, "url": url,
                        "median_ms": round(statistics.median(times), 1),
                        "slowest_ms": round(max(times), 1), "bytes": len(response.data)})
        print(f"  {user:8} {label:26} median {results[-1]['median_ms']:7.1f} ms, "
              f"slowest {results[-1]['slowest_ms']:7.1f} ms", flush=True)
    return results


def time_exports(app: Any) -> list[dict[str, Any]]:
    if "admin.export" not in app.view_functions:
        return []
    client = signed_in(app, "state")
    results = []
    for what, fmt in (("projects", "csv"), ("projects", "xlsx"), ("tasks", "csv")):
        started = time.perf_counter()
        response = client.get(f"/admin/exports/{what}.{fmt}?campaign=1")
        size = len(response.get_data())
        seconds = time.perf_counter() - started
        assert response.status_code == 200
        results.append({"export": f"{what}.{fmt}", "seconds": round(seconds, 2), "bytes": size})
        print(f"  export {what}.{fmt}: {seconds:.2f} s, {size / 1e6:.1f} MB", flush=True)
    return results


def reference(database: Database) -> float:
    sql = """SELECT s.district, s.block, p.status, count(*) FROM project p
             JOIN school s ON s.id = p.school_id WHERE p.campaign_id = 1 GROUP BY 1, 2, 3"""
    with database.engine.connect() as connection:
        connection.execute(text(sql)).all()
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            connection.execute(text(sql)).all()
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--districts", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=50)
    parser.add_argument("--schools", type=int, default=100)
    args = parser.parse_args()
    common.run_on_a_copy("dashboard.py")
    from bot import create_app

    with tempfile.TemporaryDirectory() as workdir, \
            common.fresh_database("postgresql", Path(workdir)) as url:
        upgrade(url)
        database = Database(url)
        print(f"generating {args.districts * args.blocks * args.schools:,} projects ...",
              flush=True)
        generated = generate(database, args)
        print(generated, flush=True)
        app = create_app({"database_url": url, "secret_key": "bench", "media_dir":
                          Path(workdir) / "media", "twilio_account_sid": "",
                          "twilio_auth_token": "",
                          # The pages' clock at the data's "now", so that "silent" and "the
                          # last 7 / 30 days" cover what was generated.
                          "ADMIN_NOW": state.NOW})
        common.wait_until_quiet(0.15, patience=120)
        floor_ms = reference(database)
        print(f"reference (one GROUP BY): {floor_ms:.1f} ms", flush=True)
        timed = time_pages(app, database)
        exports = time_exports(app)
        app.extensions["kadam.db"].dispose()
        database.dispose()
    slowest = max((r["median_ms"] for r in timed), default=0.0)
    for row in timed:
        row["ratio_to_reference"] = round(row["median_ms"] / floor_ms, 1)
    result = {
        "benchmark": "dashboard", "command": " ".join(["bench/dashboard.py", *sys.argv[1:]]),
        "machine": common.machine(common.PG_ADMIN_URL), "code": common.code_version(),
        "generated": generated, "runs_per_page": RUNS, "target_ms": TARGET_MS,
        "reference_ms": round(floor_ms, 1), "slowest_median_ms": slowest,
        "met": bool(timed) and slowest <= TARGET_MS, "pages": timed, "exports": exports,
    }
    common.OUT.mkdir(exist_ok=True)
    (common.OUT / "dashboard.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "pages"}, indent=2, default=str))


if __name__ == "__main__":
    main()
