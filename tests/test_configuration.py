"""Configuration in one place: bot/config.py reads the environment, every other module gets
values. The variables' names and defaults are a public contract (the README's table)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.config import Settings, environment
from storage.admin_users import authenticate
from storage.db import DEFAULT_DATABASE_URL
from storage.migrate import alembic_config
from storage.models import AdminUser
from storage.schedule import DigestTime, QuietHours

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "bot" / "config.py"
PASSWORD = "correct horse battery"

# Every way a module could read the process environment: os.environ (and environb) however
# imported, os.getenv, click's envvar= and auto_envvar_prefix=, Flask's config.from_envvar and
# from_prefixed_env, os.path.expandvars, python-dotenv. Flask's request.environ is the WSGI
# request, not the process environment.
READS = re.compile(
    r"(?<!request\.)\benvironb?\b|getenvb?\b|envvar|from_prefixed_env|expandvars|dotenv")


def environment_reads(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if READS.search(line)]


def test_only_bot_config_reads_the_environment():
    found = {}
    for folder in ("bot", "storage", "flows"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == CONFIG:
                continue
            reads = environment_reads(path.read_text(encoding="utf-8"))
            if reads:
                found[str(path.relative_to(ROOT))] = reads
    assert not found, ("read the variable in Settings.from_env() (bot/config.py) and pass "
                       f"the value down: {found}")
    assert environment_reads(CONFIG.read_text(encoding="utf-8"))  # the one that does


@pytest.mark.parametrize("line", [
    'level = os.environ.get("LOG_LEVEL", "INFO")',
    'url = os.environ["DATABASE_URL"]',
    'threads = os.getenv("WORKER_THREADS")',
    "from os import environ",
    'region = environ.get("KADAM_DEFAULT_REGION")',
    "examine(os.environ)",
    "raw = os.environb[b'X']",
    '@click.option("--password", envvar="KADAM_USER_PASSWORD")',
    'main(auto_envvar_prefix="KADAM")',
    'app.config.from_envvar("KADAM_SETTINGS")',
    'app.config.from_prefixed_env("KADAM")',
    'folder = os.path.expandvars("$MEDIA_DIR")',
    "from dotenv import load_dotenv",
])
def test_the_check_finds_each_way_of_reading_it(line):
    assert environment_reads(f"x = 1\n{line}\n") == [line]


@pytest.mark.parametrize("line", [
    "findings = examine(environment())",
    "address = request.environ.get('REMOTE_ADDR')",
    '"""Configuration from the environment."""',
])
def test_the_check_leaves_other_words_alone(line):
    assert environment_reads(line) == []


# --- Settings.from_env: the contract -----------------------------------------------------------


class Recording(dict):
    """An environment that notes which variables were asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


def readme_table() -> dict[str, str]:
    """The README's configuration table: {variable: default cell}."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\| `([A-Z_]+)` \| (.*?) \|", section, re.MULTILINE)}


def test_settings_read_exactly_the_variables_the_readme_lists():
    env = Recording()
    Settings.from_env(env)
    documented = set(readme_table()) - {"TEST_DATABASE_URL"}  # the tests' own
    # KADAM_USER_PASSWORD belongs to one command and is documented with it.
    assert env.asked == documented | {"KADAM_USER_PASSWORD"}
    assert "KADAM_USER_PASSWORD" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_defaults_are_the_defaults():
    unset = Settings.from_env({})
    checked = 0
    for name, default in readme_table().items():
        if re.fullmatch(r"`[^`]+`", default):
            assert Settings.from_env({name: default.strip("`")}) == unset, name
            checked += 1
    assert checked >= 15
    assert unset == Settings()  # read from an empty environment, or built in a test: the same
    assert unset.database_url == DEFAULT_DATABASE_URL


def test_each_variable_becomes_its_field():
    settings = Settings.from_env({
        "KADAM_QUIET_HOURS": "off", "KADAM_DIGEST_TIME": "fri 17:30", "WORKER_THREADS": "3",
        "CLOCK_INTERVAL_SECONDS": "15", "LOG_LEVEL": "DEBUG", "KADAM_DEFAULT_REGION": " rw ",
        "KADAM_TIMEZONE": "Africa/Kigali", "KADAM_USER_PASSWORD": PASSWORD,
        "DATABASE_URL": "postgres://u@h/kadam"})
    assert settings.quiet_hours == QuietHours(dt.time(0, 0), dt.time(0, 0))
    assert not settings.quiet_hours.is_quiet(dt.time(23, 0))
    assert settings.digest_time == DigestTime(4, dt.time(17, 30))
    assert (settings.worker_threads, settings.clock_interval_seconds) == (3, 15.0)
    assert (settings.log_level, settings.default_region, settings.timezone) == (
        "DEBUG", "RW", "Africa/Kigali")
    assert settings.user_password == PASSWORD and PASSWORD not in repr(settings)
    assert settings.database_url == "postgres://u@h/kadam"  # Database() normalises it
    assert Settings.from_env({"KADAM_QUIET_HOURS": "21:30-06:00"}).quiet_hours == QuietHours(
        dt.time(21, 30), dt.time(6, 0))


@pytest.mark.parametrize("name, value", [
    ("KADAM_QUIET_HOURS", "night"), ("KADAM_QUIET_HOURS", "25:00-08:00"),
    ("KADAM_DIGEST_TIME", "someday 9"), ("WORKER_THREADS", "many"), ("WORKER_THREADS", "0"),
    ("CLOCK_INTERVAL_SECONDS", "soon"),
])
def test_a_bad_value_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_without_a_mapping_the_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("KADAM_DIGEST_TIME", "WED 08:15")
    assert Settings.from_env().digest_time == DigestTime(2, dt.time(8, 15))
    assert environment()["KADAM_DIGEST_TIME"] == "WED 08:15"


# --- the processes pass the values down ----------------------------------------------------


def test_kadam_user_add_takes_kadam_user_password(db):
    result = CliRunner().invoke(main, ["user", "add", "state@example.org", "--role", "state"],
                                env={"DATABASE_URL": db.url, "KADAM_USER_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        assert session.scalars(select(AdminUser.email)).all() == ["state@example.org"]
        assert authenticate(session, "state@example.org", PASSWORD, "127.0.0.1",
                            dt.datetime.now(dt.UTC)) is not None


def test_a_bad_setting_stops_a_command_by_name_but_not_the_doctor(db, tmp_path):
    env = {"DATABASE_URL": db.url, "WORKER_THREADS": "0", "MEDIA_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["user", "list"], env=env)
    assert result.exit_code == 1
    assert "WORKER_THREADS must be a whole number of at least 1" in result.output
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert "problem  WORKER_THREADS: '0' must be a whole number of at least 1" in result.output


def test_the_clock_interval_comes_from_clock_interval_seconds(db, monkeypatch):
    from bot.clock import clock

    intervals = []
    monkeypatch.setattr(clock.Clock, "run", lambda self: intervals.append(self.interval))
    runner = CliRunner()
    env = {"DATABASE_URL": db.url, "CLOCK_INTERVAL_SECONDS": "15", "SECRET_KEY": "k" * 64}
    assert runner.invoke(main, ["clock"], env=env).exit_code == 0
    assert runner.invoke(main, ["clock", "--interval", "5"], env=env).exit_code == 0
    assert runner.invoke(main, ["clock"], env={**env, "CLOCK_INTERVAL_SECONDS": ""}
                         ).exit_code == 0
    assert intervals == [15.0, 5.0, 60.0]


def test_the_migrations_take_their_url_only_from_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    config = alembic_config(f"sqlite:///{tmp_path / 'kadam.db'}")
    config.set_main_option("sqlalchemy.url", "")
    with pytest.raises(RuntimeError, match="no database URL"):
        command.upgrade(config, "head")
    assert not (tmp_path / "elsewhere.db").exists()
