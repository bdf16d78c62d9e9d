"""Kadam's processes, one package each, as the Procfile runs them:

- `bot.web`: the web app (Twilio webhooks, the simulator, the dashboard, evidence links);
  `bot:create_app()` is what gunicorn serves;
- `bot.worker`: the send loop, the rate limiter, message composition for the wire, inbound
  answering (KADAM_INBOUND=queue) and evidence downloads;
- `bot.clock`: the due work, every minute, one active clock at a time;
- `bot.cli`: the `kadam` command line;
- `bot.engine`: what all of them share to run a conversation: the engine, the applier (one
  rule per effect) and its set-based batch writer.

Two shared libraries sit beside them: `bot.language` (catalogs, rendering, SMS fit, Twilio
templates) and `bot.sheets` (roster and spreadsheet files). `bot.config` reads the
environment, once. SQL lives in `storage/`; conversations are decided in `flows/`.
"""

from bot.web import create_app

__all__ = ["create_app"]
