"""Inbound benchmark: signed Twilio webhooks per second through the real app under gunicorn.

For each database (SQLite, PostgreSQL) it
  1. makes a fresh database, runs the migrations and seeds it with the real command line
     (`kadam db upgrade`, `roster import` of a generated CSV, `template load`, `campaign
     launch --audience all`); then every headmaster accepts the invitation ("1", through the
     engine in-process) so that all projects are running;
  2. serves, one after the other and with the same gunicorn setup (2 sync workers), the
     reference endpoint (bench/reference_app.py: one INSERT and one UPDATE) and the app
     (`bot:create_app()`), and against each runs a short warm-up, then
       (a) a closed loop: C connections posting back to back for N seconds -> max requests/s;
       (b) an open loop: a fixed rate (200/s) for N seconds; latency is measured from each
           request's scheduled send time, so a stalled server cannot hide queued requests;
  3. checks that every request got 200 and that exactly one inbound row was stored per request.

Requests are what Twilio sends for a WhatsApp message: a form with a unique MessageSid, From a
seeded headmaster, a Body from realistic replies, signed with RequestValidator for PUBLIC_URL +
path, all built before the clock starts. The client is one asyncio loop on raw sockets (one
connection per request, as gunicorn's sync workers close after each response). It shares the
machine's cores with the server, so it takes some CPU from it.

The machine may be shared: each measurement waits for a quiet CPU, records the CPU used by us
(client, gunicorn, database backends; also per request) and by everyone else, and is repeated
(--attempts) while others used more than --max-others; the quietest try is reported. The run
uses a copy of the code (common.run_on_a_copy), so edits made meanwhile cannot mix versions.

    .venv/bin/python bench/inbound.py [--db sqlite|postgresql|both] [--seconds N]
                                      [--inbound inline|queue]
    .venv/bin/python bench/inbound.py --profile 500 [--db postgresql] [--inbound queue]
                                      # cProfile of the webhook, in-process

Prints a table and writes bench/out/inbound.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import common
import reference_app
from sqlalchemy import create_engine, func, select, text
from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "b" * 32
PUBLIC_URL = "https://kadam.example.org"
PATH = "/twilio/whatsapp"
BODIES = ("1", "ho gaya", "status", "tasks", "task 2 done")
SERVER_ENV = {"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
              "PUBLIC_URL": PUBLIC_URL, "LOG_LEVEL": "WARNING",
              "SECRET_KEY": "bench-" + "0" * 58}  # with Twilio configured the app needs one
APPS = {"reference": ("reference_app:create_app()", "bench_reference_inbound"),
        "app": ("bot:create_app()", "inbound_message")}
WARMUP = 200
CLOSED_CAP_PER_SECOND = 2500  # requests prepared per second of the closed loop
TIMEOUT = 30.0


# --- seeding ----------------------------------------------------------------------------------

def seed(url: str, headmasters: int, workdir: Path) -> list[str]:
    """Migrates and fills the database through the real CLI; returns the headmasters' phones."""
    phones = [f"+9198{i:08d}" for i in range(headmasters)]
    roster = workdir / "roster.csv"
    with roster.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow("role name phone language school_code school_name district block cluster"
                     .split())
        for i, phone in enumerate(phones):
            out.writerow(["headmaster", f"Headmaster {i}", phone, ("hi", "mr", "en")[i % 3],
                          f"2731{i:07d}", f"ZP School {i}", ("Satara", "Pune", "Nashik")[i % 3],
                          f"Block {i % 40}", f"Cluster {i % 200}"])
    common.kadam(url, "db", "upgrade")
    common.kadam(url, "roster", "import", str(roster))
    common.kadam(url, "template", "load", "bot/shipped/templates/retell-the-tale.yaml")
    common.kadam(url, "campaign", "launch", "retell-the-tale", "--audience", "all")
    accept_invitations(url, phones)
    reference_app.prepare(url)
    return phones


def accept_invitations(url: str, phones: Sequence[str]) -> None:
    """Every headmaster answers "1" (accept), so every project is running with task 1 due."""
    from bot.config import Settings
    from bot.engine.engine import Engine, Inbound
    from storage.db import Database

    database = Database(url)
    engine = Engine(database, Settings(database_url=url))
    for phone in phones:
        outcome = engine.receive(Inbound("SM" + uuid.uuid4().hex, phone, "whatsapp", "1"))
        assert outcome.status == "processed", outcome
    database.dispose()


# --- requests ---------------------------------------------------------------------------------

def twilio_form(phone: str, body: str) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Headmaster",
            "MessageType": "text", "SmsSid": sid, "WaId": phone.lstrip("+"),
            "SmsStatus": "received", "Body": body, "To": "whatsapp:+14155238886",
            "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid,
            "AccountSid": ACCOUNT, "From": f"whatsapp:{phone}", "ApiVersion": "2010-04-01"}


class Requests:
    """Signed raw HTTP requests, numbered on from batch to batch. Request k comes from
    headmaster k mod n, whose replies rotate through BODIES: every moment has the same mix."""

    def __init__(self, phones: Sequence[str]):
        self.phones, self.next = phones, 0
        self.validator = RequestValidator(TOKEN)

    def batch(self, count: int) -> list[bytes]:
        first, self.next = self.next, self.next + count
        return [self.request(k) for k in range(first, first + count)]

    def form(self, k: int) -> tuple[dict[str, str], str]:
        """Request k's form and its X-Twilio-Signature."""
        hm, turn = k % len(self.phones), k // len(self.phones)
        form = twilio_form(self.phones[hm], BODIES[(hm + turn) % len(BODIES)])
        return form, self.validator.compute_signature(PUBLIC_URL + PATH, form)

    def request(self, k: int) -> bytes:
        form, signature = self.form(k)
        body = urlencode(form).encode()
        head = (f"POST {PATH} HTTP/1.1\r\nHost: kadam.example.org\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n")
        return head.encode() + body


# --- the load generator -----------------------------------------------------------------------

async def post(port: int, payload: bytes) -> int:
    """Sends one request on a new connection; returns the HTTP status (0 if none came)."""
    try:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(payload)
                response = await reader.read()  # to EOF: the request says Connection: close
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return 0
    return int(response[9:12]) if response[:7] == b"HTTP/1." else 0


async def closed_loop(port: int, payloads: Iterator[bytes], connections: int,
                      seconds: float) -> dict:
    """`connections` clients, each posting its next request as soon as the last is answered."""
    results: list[tuple[int, float]] = []
    start = time.perf_counter()
    deadline = start + seconds

    async def client() -> None:
        while time.perf_counter() < deadline and (payload := next(payloads, None)):
            sent = time.perf_counter()
            status = await post(port, payload)
            results.append((status, time.perf_counter() - sent))

    await asyncio.gather(*(client() for _ in range(connections)))
    return summary(results, time.perf_counter() - start)


async def open_loop(port: int, payloads: Iterator[bytes], rate: float, seconds: float) -> dict:
    """Sends at fixed times, whatever the server does; latency counts from the scheduled time."""
    start = time.perf_counter() + 0.05
    tasks, late = [], 0.0

    async def one(payload: bytes, scheduled: float) -> tuple[int, float]:
        status = await post(port, payload)
        return status, time.perf_counter() - scheduled

    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        if (delay := scheduled - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        late = max(late, time.perf_counter() - scheduled)
        tasks.append(asyncio.create_task(one(next(payloads), scheduled)))
    results = await asyncio.gather(*tasks)
    return {**summary(results, time.perf_counter() - start), "rate": rate,
            "max_send_lag_ms": round(late * 1000, 1)}


def summary(results: Sequence[tuple[int, float]], elapsed: float) -> dict:
    latencies = sorted(latency for _, latency in results)
    ms = {f"p{p}_ms": round(common.percentile(latencies, p) * 1000, 1) for p in (50, 95, 99)}
    statuses = Counter(str(status) for status, _ in results)
    return {"requests": len(results), "non_200": len(results) - statuses["200"],
            "statuses": dict(statuses),
            "seconds": round(elapsed, 2), "rps": round(len(results) / elapsed, 1), **ms,
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else None}


# --- one database -----------------------------------------------------------------------------

def count_rows(url: str, table: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = connection.scalar(select(func.count()).select_from(text(table)))
    engine.dispose()
    return int(rows)


def measure(kind: str, args: argparse.Namespace, workdir: Path) -> dict:
    results: dict = {}
    with common.fresh_database(kind, workdir, args.pg_url) as url:
        started = time.perf_counter()
        requests = Requests(seed(url, args.headmasters, workdir))
        print(f"[{kind}] seeded {args.headmasters} running projects in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        for name in APPS:
            results[name] = serve_and_load(kind, name, url, requests, args)
    results["ratio"] = round(results["app"]["closed_loop"]["rps"]
                             / results["reference"]["closed_loop"]["rps"], 2)
    return results


def serve_and_load(kind: str, name: str, url: str, requests: Requests,
                   args: argparse.Namespace) -> dict:
    """Serves one app, warms it up, then runs the closed and the open loop; runs them again
    (up to --attempts times) while other processes used more than --max-others of the CPU."""
    spec, table = APPS[name]
    before, queued = count_rows(url, table), count_rows(url, "outbox")
    env = {**SERVER_ENV, "DATABASE_URL": url}
    if name == "app":
        env["KADAM_INBOUND"] = args.inbound
    log = common.OUT / f"inbound-{kind}-{name}.log"
    with common.gunicorn(spec, env, workers=args.workers, worker_class=args.worker_class,
                         log=log) as (port, pid):
        warm = asyncio.run(closed_loop(port, iter(requests.batch(WARMUP)), 4, 60))
        statuses, tries = Counter(warm["statuses"]), []
        processes = {"client": [os.getpid()], "server": [pid, *common.children(pid)],
                     "database": common.database_backends(url)}
        closed_n = int(args.seconds * CLOSED_CAP_PER_SECOND)
        for attempt in range(1, args.attempts + 1):
            closed = requests.batch(closed_n)
            fixed = requests.batch(int(args.rate * args.seconds))
            busy = common.wait_until_quiet(args.max_others)
            peak = metered(processes, closed_loop(port, iter(closed), args.connections,
                                                  args.seconds))
            steady = metered(processes, open_loop(port, iter(fixed), args.rate, args.seconds))
            statuses.update(peak["statuses"])
            statuses.update(steady["statuses"])
            others = max(peak["cpu"]["others"], steady["cpu"]["others"])
            tries.append({"closed_loop": peak, "open_loop": steady, "others": others,
                          "busy_before": busy, "prepared_ran_out": peak["requests"] >= closed_n})
            print(f"[{kind}] {name}, try {attempt}: {peak['rps']} req/s; at {args.rate:g}/s p99 "
                  f"{steady['p99_ms']} ms; other processes used {others:.0%} of the CPU",
                  flush=True)
            if others <= args.max_others:
                break
    sent, stored = statuses.total(), count_rows(url, table) - before
    print(f"[{kind}] {name}: sent {sent}, stored {stored}, statuses {dict(statuses)}", flush=True)
    quietest = min(tries, key=lambda t: t["others"])
    drained = drain(url) if name == "app" and args.inbound == "queue" else None
    if drained:
        print(f"[{kind}] answered the {drained['answered']} recorded messages in "
              f"{drained['seconds']} s: {drained['per_second']}/s (one worker process)",
              flush=True)
    return {**quietest, "tries": len(tries), "sent": sent, "stored": stored, "drain": drained,
            "statuses": dict(statuses), "replies_queued": count_rows(url, "outbox") - queued,
            "ok": statuses["200"] == sent == stored}


def drain(url: str) -> dict:
    """KADAM_INBOUND=queue: the flow's work the webhook left to the worker, timed as one
    worker process does it (Engine.handle_pending until nothing is pending)."""
    from bot.config import Settings
    from bot.engine.engine import Engine
    from storage.db import Database

    database = Database(url)
    engine = Engine(database, Settings(database_url=url))
    common.wait_until_quiet(0.15, patience=60)
    started, answered = time.perf_counter(), 0
    while taken := engine.handle_pending(500):
        answered += taken
    seconds = time.perf_counter() - started
    with database.engine.connect() as connection:
        left = connection.execute(text(
            "SELECT count(*) FROM inbound_message WHERE pending")).scalar()
    database.dispose()
    return {"answered": answered, "seconds": round(seconds, 2), "left": left,
            "per_second": round(answered / seconds, 1) if seconds else None}


def metered(processes: dict[str, list[int]], load: Coroutine[Any, Any, dict]) -> dict:
    """Runs one load and adds the CPU it cost: shares of the machine (ours, everyone else's)
    and CPU milliseconds per request in the client, the server and the database backends."""
    meter = common.CpuMeter(pid for pids in processes.values() for pid in pids)
    before = {group: common.process_cpu(pids) for group, pids in processes.items()}
    result = asyncio.run(load)
    result["cpu"] = meter.stop()
    result["cpu_ms_per_request"] = {
        group: round((common.process_cpu(pids) - before[group]) * 1000
                     / max(1, result["requests"]), 2)
        for group, pids in processes.items()
    }
    return result


def table(results: dict, rate: float) -> str:
    lines = [f"| database | app req/s | reference req/s | ratio | app p50/p95/p99 at {rate:g}/s"
             f" | reference p50/p95/p99 | correct |", "|---|---|---|---|---|---|---|"]
    for kind, r in results.items():
        app, ref = r["app"], r["reference"]

        def p(o: dict) -> str:
            return f"{o['p50_ms']} / {o['p95_ms']} / {o['p99_ms']} ms"

        lines.append(f"| {kind} | {app['closed_loop']['rps']} | {ref['closed_loop']['rps']} | "
                     f"{r['ratio']} | {p(app['open_loop'])} | {p(ref['open_loop'])} | "
                     f"{'yes' if app['ok'] and ref['ok'] else 'NO'} |")
    return "\n".join(lines)


# --- profile ----------------------------------------------------------------------------------

def profile(args: argparse.Namespace, workdir: Path) -> None:
    """Times and profiles the app's handler in-process (Flask's test client, no gunicorn, no
    load generator), then prints the top costs and the SQL statements per request."""
    import cProfile
    import pstats

    from sqlalchemy import event

    kind = "sqlite" if args.db == "both" else args.db
    with common.fresh_database(kind, workdir, args.pg_url) as url:
        requests = Requests(seed(url, args.headmasters, workdir))
        os.environ.update({**SERVER_ENV, "DATABASE_URL": url, "KADAM_INBOUND": args.inbound})
        from bot import create_app

        app = create_app()
        client, statements = app.test_client(), []
        event.listen(app.extensions["kadam.db"].engine, "after_cursor_execute",
                     lambda *_: statements.append(1))

        def run(count: int) -> float:
            forms = [requests.form(requests.next + i) for i in range(count)]
            requests.next += count
            started = time.perf_counter()
            for form, signature in forms:
                response = client.post(PATH, data=form, headers={"X-Twilio-Signature": signature})
                assert response.status_code == 200, response.status_code
            return (time.perf_counter() - started) / count * 1000

        run(WARMUP)
        statements.clear()
        print(f"{kind}: {run(args.profile):.2f} ms per request without the profiler, "
              f"{len(statements) / args.profile:.1f} SQL statements each")
        profiler = cProfile.Profile()
        profiler.runcall(run, args.profile)
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(r"/bot/|/storage/|/flows/", 30)
        stats.sort_stats("tottime").print_stats(25)
        app.extensions["kadam.db"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=15.0, help="per measurement")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests/s")
    parser.add_argument("--connections", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--headmasters", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--attempts", type=int, default=3,
                        help="measure again while other processes use the CPU")
    parser.add_argument("--max-others", type=float, default=0.1,
                        help="the share of the CPU others may use during a valid measurement")
    parser.add_argument("--pg-url", default=common.PG_ADMIN_URL,
                        help="an admin URL; a fresh database is created beside it")
    parser.add_argument("--inbound", choices=("inline", "queue"), default="inline",
                        help="KADAM_INBOUND for the app: queue records in the webhook and "
                             "answers afterwards (timed separately, as a worker would)")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="profile N requests in-process (--db, default SQLite), then exit")
    args = parser.parse_args()
    common.run_on_a_copy("inbound.py")
    common.OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kadam-bench-") as tmp:
        if args.profile:
            profile(args, Path(tmp))
            return
        kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
        results = {kind: measure(kind, args, Path(tmp)) for kind in kinds}
    uses_pg = "postgresql" in kinds
    report = {"benchmark": "inbound", "command": " ".join(["bench/inbound.py", *sys.argv[1:]]),
              "machine": common.machine(args.pg_url if uses_pg else None),
              "code": common.code_version(),
              "settings": {k: v for k, v in vars(args).items() if k != "profile"},
              "results": results}
    (common.OUT / "inbound.json").write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results, args.rate))
    for kind, r in results.items():
        if not (r["app"]["ok"] and r["reference"]["ok"]):
            print(f"{kind}: NOT VALID: some requests failed or were not stored exactly once")
            continue
        print(f"{kind}: the app does {r['ratio']}x the reference's requests/s (target 0.6x); "
              f"its p99 at {args.rate:g}/s is {r['app']['open_loop']['p99_ms']} ms "
              "(target 100 ms)")
    print(f"\nwrote {common.OUT / 'inbound.json'}")
    if not all(r[name]["ok"] for r in results.values() for name in APPS):
        sys.exit("some requests failed or were not stored exactly once")


if __name__ == "__main__":
    main()
