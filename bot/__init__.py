"""Kadam's web process: Twilio webhooks, the simulator and the health check.

`create_app()` is what gunicorn serves (`bot:create_app()`); it takes configuration from the
environment (see bot/config.py and the README) or from `test_config`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from bot.config import Settings
from bot.engine import Engine
from storage.db import Database

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    settings = Settings.from_env()
    for key, value in (test_config or {}).items():
        if hasattr(settings, key):
            setattr(settings, key, value)
    if not settings.secret_key:
        # Sessions only matter to the simulator; a per-process key is fine until one is set.
        settings.secret_key = os.urandom(32).hex()
    app.config.update(SECRET_KEY=settings.secret_key, KADAM=settings,
                      MAX_CONTENT_LENGTH=settings.media_max_bytes + 1024 * 1024)
    app.config.update({k: v for k, v in (test_config or {}).items() if k.isupper()})

    database = Database(settings.database_url or None)
    app.extensions["kadam.db"] = database
    app.extensions["kadam.engine"] = Engine(database, settings)

    from bot import evidence, simulator, webhooks

    webhooks.init_app(app)
    evidence.init_app(app)
    if simulator.enabled(settings):
        simulator.init_app(app)
    return app
