"""Helpers the benchmarks share: fresh databases, a gunicorn server, percentiles, the machine.

Nothing here measures anything; each bench/*.py script decides what to time and how.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import platform
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = Path(os.environ.get("BENCH_OUT") or BENCH / "out")
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CODE = ("bot", "flows", "storage", "bench")
COPIED_FROM = "KADAM_BENCH_COPIED_FROM"


def run_on_a_copy(script: str) -> None:
    """Runs bench/`script` again on a copy of the code (CODE) and exits with its status, unless
    this already is the copy: the tree may be edited during a long run, and a server started
    minutes after the database was migrated must not load newer models than the migrations.
    Results still go to this tree's bench/out."""
    if os.environ.get(COPIED_FROM):
        return
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kadam-code-") as tmp:
        for name in CODE:
            shutil.copytree(ROOT / name, Path(tmp) / name,
                            ignore=shutil.ignore_patterns("__pycache__", "out"))
        env = {**os.environ, COPIED_FROM: str(ROOT), "BENCH_OUT": str(OUT),
               "PYTHONPATH": os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, str(Path(tmp) / "bench" / script), *sys.argv[1:]]
        sys.exit(subprocess.call(command, env=env))


def code_version() -> dict[str, str | int]:
    """The commit the code was copied from, and how many of its files differed from it."""
    root = os.environ.get(COPIED_FROM) or str(ROOT)

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", *CODE).splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_files": len(changed)}


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new, empty database: an SQLite file in `workdir`, or a PostgreSQL database that is
    dropped again on the way out. Yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'kadam-bench.db'}"
        return
    import psycopg

    name = f"kadam_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kadam(url: str, *args: str) -> str:
    """Runs the real `kadam` command line against `url` and returns what it printed."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    done = subprocess.run([str(VENV_BIN / "kadam"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"kadam {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(app: str, env: dict[str, str], *, workers: int = 2, worker_class: str = "sync",
             ready_path: str = "/healthz", log: Path | None = None) -> Iterator[tuple[int, int]]:
    """Serves `app` (a gunicorn app spec) on a free loopback port until the block ends.

    Yields (port, master pid) once `ready_path` answers 200 (not every worker need have booted
    by then, so callers should warm up before timing)."""
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--worker-class",
               worker_class, "--bind", f"127.0.0.1:{port}", "--pythonpath", str(BENCH), app]
    sink = open(log, "wb") if log else subprocess.DEVNULL
    server = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT,
                              stdout=sink, stderr=sink)
    try:
        _wait_until_ready(server, port, ready_path)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if log:
            sink.close()


def _wait_until_ready(server: subprocess.Popen[bytes], port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode} before it was ready")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not become ready within 30 s")


# --- CPU accounting: the machine is shared, so say how much of it others used -------------------

TICK = os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / TICK, sum(ticks) / TICK


def process_cpu(pids: Iterable[int]) -> float:
    """User + system CPU seconds the processes have used (those that are gone count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return found


class CpuMeter:
    """Shares of all cores used between start and stop: by `pids` (ours: server, client,
    database backends) and by everything else on the machine."""

    def __init__(self, pids: Iterable[int]):
        self.pids = list(pids)
        self.ours = process_cpu(self.pids)
        self.busy, self.total = machine_cpu()

    def stop(self) -> dict[str, float]:
        busy, total = machine_cpu()
        elapsed = max(total - self.total, 1e-9)
        ours = process_cpu(self.pids) - self.ours
        return {"ours": round(ours / elapsed, 2),
                "others": round(max(0.0, busy - self.busy - ours) / elapsed, 2)}


def database_backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving `url`'s database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    import psycopg

    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname ="
                                  " current_database() AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows]


def wait_until_quiet(threshold: float = 0.15, patience: float = 300, window: float = 3) -> float:
    """Waits (up to `patience` seconds) until less than `threshold` of the CPU was busy over
    `window` seconds; returns the last share seen."""
    deadline = time.monotonic() + patience
    while True:
        busy0, total0 = machine_cpu()
        time.sleep(window)
        busy1, total1 = machine_cpu()
        share = round((busy1 - busy0) / max(total1 - total0, 1e-9), 2)
        if share < threshold or time.monotonic() > deadline:
            return share


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil without floats drifting
    return sorted_values[int(rank) - 1]


def machine(pg_admin_url: str | None = None) -> dict[str, str]:
    """What the figures were measured on, for the JSON result and docs/benchmarks.md."""
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                      if line.startswith("model name")), model)
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as meminfo:
        kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if pg_admin_url:
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(pg_admin_url.replace("+psycopg", "")) as connection:
                info["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]
    return info
