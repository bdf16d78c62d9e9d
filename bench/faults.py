"""Fault-injection benchmark: is each message sent exactly once when things go wrong?

Issue 13, item 7, at a smaller scale. For each scenario, on a fresh PostgreSQL database:
a circular to --messages headmasters (each wrote recently, so it goes as WhatsApp free text),
sent by real `kadam worker` processes (MESSAGES_PER_SECOND=--rate, 8 threads) to the Twilio
stand-in (tests/twilio_standin.py, in this process), while
  - kills: the worker is killed with SIGKILL --kills times at random moments, and started
    again at once;
  - timeouts: --timeout-share of the provider calls are accepted and then not answered within
    the worker's 10 s timeout (the stand-in keeps the message: Twilio has it);
  - outage: the worker reaches PostgreSQL through a TCP proxy in this process, which cuts every
    connection and refuses new ones for --outage seconds in the middle of the broadcast; the
    worker's log is kept, to count its lines and tracebacks.
Then it waits until every row is recorded as sent (leases of killed workers run out after
60 s) and counts, as the stand-in saw them, the headmasters who got nothing (lost) and the
messages beyond the first to one headmaster (duplicates). Target: 0 and 0.

    .venv/bin/python bench/faults.py [--messages 1000] [--kills 10] [--scenario kills ...]

Prints a table and writes bench/out/faults.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import select as selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import common
from sqlalchemy import func, insert, select

from storage.broadcasts import create
from storage.db import Database
from storage.models import Outbox, Person, School

sys.path.insert(0, str(common.ROOT))  # tests/ is not an installed package
from tests.twilio_standin import TwilioStandin  # noqa: E402

WHATSAPP_FROM = "+14155238886"
SCENARIOS = ("kills", "timeouts", "outage")


class Proxy:
    """A TCP proxy to PostgreSQL that can play dead: `cut(seconds)` closes every connection
    and refuses new ones for that long."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.down_until = 0.0
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, seconds: float) -> None:
        with self.lock:
            self.down_until = time.monotonic() + seconds
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self.server.accept()
            if time.monotonic() < self.down_until:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = selectors.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        raise OSError
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.sockets -= {a, b}
            a.close()
            b.close()


def seed(url: str, count: int) -> None:
    database = Database(url)
    now = dt.datetime.now(dt.UTC)
    with database.transaction() as session:
        session.execute(insert(School), [
            {"code": f"S{i:05d}", "name": f"School {i}", "district": "Satara", "block": "Wai",
             "cluster": "", "state": "Maharashtra"} for i in range(count)])
        ids = dict(session.execute(select(School.code, School.id)).all())
        session.execute(insert(Person), [
            {"phone": f"+9197{i:08d}", "name": f"HM {i}", "role": "headmaster",
             "language": ("hi", "mr", "en")[i % 3], "school_id": ids[f"S{i:05d}"],
             "district": "", "block": "", "channel": "whatsapp", "sms_allowed": True,
             "last_inbound_at": now, "created_at": now, "updated_at": now}
            for i in range(count)])
    create(database, {"en": "Science fair on Friday. Please send one photo.",
                      "hi": "शुक्रवार को विज्ञान मेला है। कृपया एक फ़ोटो भेजें।",
                      "mr": "शुक्रवारी विज्ञान प्रदर्शन आहे. कृपया एक फोटो पाठवा."},
           ["all"], "headmaster")
    database.dispose()


def unsent(database: Database) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(Outbox)
                              .where(Outbox.status != "sent")) or 0


class Workers:
    """`kadam worker` processes, one at a time, their output in one log file."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([str(common.VENV_BIN / "kadam"), "worker"],
                                            env=self.env, stdout=out, stderr=out)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def run(scenario: str, args: argparse.Namespace, workdir: Path) -> dict:
    standin = TwilioStandin().start()
    if scenario == "timeouts":
        standin.chaos(timeouts=args.timeout_share, hang=12.0)
    with common.fresh_database("postgresql", workdir) as url:
        common.kadam(url, "db", "upgrade")
        seed(url, args.messages)
        proxy = None
        worker_url = url
        if scenario == "outage":
            proxy = Proxy(("127.0.0.1", 5432))
            worker_url = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        log = workdir / f"worker-{scenario}.log"
        env = {**os.environ, "DATABASE_URL": worker_url, "SECRET_KEY": "k" * 64,
               "TWILIO_ACCOUNT_SID": standin.account_sid,
               "TWILIO_AUTH_TOKEN": standin.auth_token, "TWILIO_API_URL": standin.url,
               "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM, "PUBLIC_URL": "",
               "MESSAGES_PER_SECOND": str(args.rate), "WORKER_THREADS": "8",
               "KADAM_QUIET_HOURS": "off", "MEDIA_DIR": str(workdir / "media"),
               "LOG_LEVEL": "INFO"}
        workers = Workers(env, log)
        database = Database(url)
        rng = random.Random(args.seed)
        started = time.monotonic()
        workers.start()
        expected = args.messages / args.rate  # seconds the broadcast takes undisturbed
        kills = 0
        try:
            if scenario == "kills":
                moments = sorted(rng.uniform(1, expected * 0.9) for _ in range(args.kills))
                for moment in moments:
                    time.sleep(max(0.0, started + moment - time.monotonic()))
                    workers.kill()
                    kills += 1
                    workers.start()
            elif scenario == "outage":
                assert proxy is not None
                time.sleep(expected * 0.3)
                proxy.cut(args.outage)
            while unsent(database) and time.monotonic() - started < args.deadline:
                time.sleep(1)
        finally:
            workers.stop()
            elapsed = time.monotonic() - started
            remaining = unsent(database)
            with database.sessions() as session:
                phones = session.scalars(select(Outbox.phone)).all()
            database.dispose()
            standin.stop()
    got = Counter(m.form["To"].removeprefix("whatsapp:") for m in standin.messages())
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return {
        "scenario": scenario, "messages": len(phones), "kills": kills,
        "lost": sum(1 for p in phones if got[p] == 0),
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "not_recorded_as_sent": remaining, "seconds": round(elapsed, 1),
        "provider_requests": len([r for r in standin.requests if r.method == "POST"]),
        "provider_lookups": len([r for r in standin.requests if r.method == "GET"]),
        "log_lines": len(lines),
        "tracebacks": sum(1 for line in lines if line.startswith("Traceback")),
        "unreachable_lines": sum(1 for line in lines if "database unreachable" in line),
        "timeout_share": args.timeout_share if scenario == "timeouts" else 0,
        "outage_seconds": args.outage if scenario == "outage" else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--timeout-share", type=float, default=0.1)
    parser.add_argument("--outage", type=float, default=15.0)
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="kadam-faults-") as tmp:
        for scenario in args.scenario or SCENARIOS:
            result = run(scenario, args, Path(tmp))
            results.append(result)
            print(json.dumps(result), flush=True)
    common.OUT.mkdir(parents=True, exist_ok=True)
    (common.OUT / "faults.json").write_text(json.dumps(
        {"machine": common.machine(common.PG_ADMIN_URL), "code": common.code_version(),
         "results": results}, indent=2))
    print(f"{'scenario':10} {'messages':>8} {'lost':>5} {'dupes':>6} {'seconds':>8} "
          f"{'lookups':>8} {'log lines':>9} {'tracebacks':>10}")
    for r in results:
        print(f"{r['scenario']:10} {r['messages']:>8} {r['lost']:>5} {r['duplicates']:>6} "
              f"{r['seconds']:>8} {r['provider_lookups']:>8} {r['log_lines']:>9} "
              f"{r['tracebacks']:>10}")


if __name__ == "__main__":
    main()
