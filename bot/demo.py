"""`kadam demo`: Kadam on its embedded defaults, with a demo roster and projects loaded.

SQLite file, console channel (nothing leaves the machine), a worker and a clock running as
threads, and the simulator at http://127.0.0.1:5000/simulator.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

import click
from sqlalchemy import func, select

from storage.db import Database, database_url
from storage.migrate import upgrade
from storage.models import Person

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEMO_ROSTER = ROOT / "demo" / "roster.csv"
TEMPLATES = ROOT / "templates"
DEMO_CAMPAIGNS = (
    ("retell-the-tale", ["district:Satara", "district:Gasabo"]),
    ("virtual-ptm", ["district:Lucknow"]),
)


def load_demo_data(database: Database) -> bool:
    """Loads the demo roster, the shipped templates and two campaigns into an empty database."""
    with database.sessions() as session:
        if session.scalar(select(func.count()).select_from(Person)):
            return False
    from bot.cli import main

    def run(*args: str) -> None:
        main.main(list(args), standalone_mode=False)

    run("roster", "import", str(DEMO_ROSTER))
    run("template", "load", *sorted(str(p) for p in TEMPLATES.glob("*.yaml")))
    start = dt.date.today().isoformat()
    for slug, audience in DEMO_CAMPAIGNS:
        specs = [arg for spec in audience for arg in ("--audience", spec)]
        run("campaign", "launch", slug, *specs, "--start", start)
    return True


def start_background(database: Database) -> None:
    """The worker (console channel) and the clock, as threads of the demo process."""
    from bot.clock import Clock
    from bot.config import Settings
    from bot.worker import Worker

    settings = Settings.from_env()
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
    url = database_url()
    upgrade(url)
    database = Database(url)
    if load_demo_data(database):
        click.echo("demo data loaded: roster, 4 templates, 2 campaigns")
    if no_server:
        return
    start_background(database)
    from bot import create_app

    app = create_app()
    click.echo(f"Kadam is running. Open http://{host}:{port}/simulator to chat as a headmaster.")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
