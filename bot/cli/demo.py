"""`kadam demo`: Kadam on its embedded defaults, with a demo roster and projects loaded.

SQLite file, console channel (nothing leaves the machine), a worker and a clock running as
threads, and the simulator at http://127.0.0.1:5000/simulator.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from importlib import resources
from pathlib import Path

import click
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings
from storage.db import Database, normalise_url
from storage.migrate import upgrade
from storage.roster import is_empty as roster_is_empty
from storage.schedule import zone

log = logging.getLogger(__name__)

# Shipped inside the package (a regular install has them too), found through importlib.
SHIPPED = Path(str(resources.files("bot") / "shipped"))
DEMO_ROSTER = SHIPPED / "demo-roster.csv"
TEMPLATES = SHIPPED / "templates"
DEMO_CAMPAIGNS = (
    ("retell-the-tale", ["district:Satara", "district:Pune", "district:Gasabo"]),
    ("virtual-ptm", ["district:Lucknow"]),
)
# The demo's dashboard and simulator sign-in (SQLite and the console channel only: the demo
# refuses anything else, and nothing is reachable from outside unless the operator binds the
# demo to a public address).
DEMO_USER = ("admin@example.org", "kadam-demo")


def refuse_real_deployment(url: str, settings: Settings) -> str | None:
    """Why `kadam demo` must not run here (None when it may). The demo makes a dashboard user
    whose password is in the README and a made-up roster; neither may ever reach a database or
    a Twilio account that real headmasters use."""
    reasons = []
    if not url.startswith("sqlite"):
        try:
            shown = make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            shown = "not a SQLite file"
        reasons.append(f"DATABASE_URL is {shown}: unset it (the demo then uses kadam.db in "
                       "this folder) or set it to sqlite:///demo.db")
    if settings.twilio_account_sid or settings.twilio_auth_token:
        reasons.append("Twilio credentials are set, and the made-up roster would be sent real "
                       "messages: unset TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    if not reasons:
        return None
    return (f"kadam demo runs only on a SQLite file with the console channel, because it "
            f"creates the sign-in {DEMO_USER[0]} / {DEMO_USER[1]} and a made-up roster, which "
            f"must never exist in a real deployment. {'; '.join(reasons)}. Nothing was created.")


def demo_settings(host: str = "127.0.0.1", port: int = 5000) -> Settings:
    """The environment's settings, with the demo server's own address as the public URL
    (unless PUBLIC_URL names one): the links in digests are then whole links a phone or a
    browser opens, not paths. A server bound to every interface is named by 127.0.0.1."""
    settings = Settings.from_env()
    if not settings.public_url:
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        settings.public_url = f"http://{shown}:{port}"
    return settings


def demo_config(settings: Settings) -> dict[str, object]:
    """What the demo's web app is made with (create_app): the simulator, the demo's sign-in
    shown on the sign-in page, and the demo's public URL."""
    return {"simulator": True, "DEMO_SIGN_IN": DEMO_USER, "public_url": settings.public_url}


def load_demo_data(database: Database, settings: Settings | None = None) -> bool:
    """Loads the demo roster, the shipped templates and two campaigns into an empty database:
    Retell the Tale launched a fortnight ago and lived through since (demo_story.py), and
    the Virtual PTM launched now, its invitations open."""
    settings = settings or demo_settings()
    with database.sessions() as session:
        if not roster_is_empty(session):
            return False
    from bot.cli import main

    def run(*args: str) -> None:
        main.main(list(args), standalone_mode=False)

    from bot.cli.demo_story import launch_time, play
    from storage.admin_users import add_user
    from storage.campaigns import launch, parse_audience

    run("roster", "import", str(DEMO_ROSTER))
    run("template", "load", *sorted(str(p) for p in TEMPLATES.glob("*.yaml")))
    now = dt.datetime.now(dt.UTC)
    (retell, retell_audience), (meeting, meeting_audience) = DEMO_CAMPAIGNS
    # Retell the Tale began a fortnight ago and has a history to show; the meeting starts now.
    began = launch_time(now, settings.timezone)
    launch(database, retell, [parse_audience(spec) for spec in retell_audience],
           start_date=began.astimezone(zone(settings.timezone)).date(), now=began)
    play(database, settings, now)
    launch(database, meeting, [parse_audience(spec) for spec in meeting_audience],
           start_date=now.astimezone(zone(settings.timezone)).date(), now=now)
    with database.transaction() as session:
        add_user(session, *DEMO_USER, "state", None)
    return True


def start_background(database: Database, settings: Settings) -> None:
    """The worker (console channel) and the clock, as threads of the demo process."""
    from bot.clock.clock import Clock
    from bot.worker.loop import Worker

    worker = Worker(database, settings)
    threading.Thread(target=worker.run_forever, name="kadam-worker", daemon=True).start()
    clock = Clock(database, settings, interval=60)
    threading.Thread(target=clock.run, name="kadam-clock", daemon=True).start()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-server", is_flag=True, help="Only prepare the database and demo data.")
def demo(host: str, port: int, no_server: bool) -> None:
    """Start Kadam with demo data: SQLite, console channel, simulator."""
    settings = demo_settings(host, port)
    url = normalise_url(settings.database_url)
    refusal = refuse_real_deployment(url, settings)
    if refusal:
        raise click.ClickException(refusal)
    upgrade(url)
    database = Database(url)
    if load_demo_data(database, settings):
        click.echo("demo data loaded: roster, 4 templates, 2 campaigns")
    if no_server:
        return
    start_background(database, settings)
    from bot import create_app

    app = create_app(demo_config(settings))
    base = settings.public_url
    click.echo(f"Kadam is running. Open {base}/simulator to chat as a headmaster or an\n"
               f"officer, and {base}/admin for the dashboard. Both ask you to sign in: "
               f"{DEMO_USER[0]}, password {DEMO_USER[1]}. Links in messages start with {base}.")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
