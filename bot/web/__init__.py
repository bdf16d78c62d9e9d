"""The web process: Twilio webhooks, the simulator, the dashboard and the health check.

`create_app()` is what gunicorn serves (`bot:create_app()`); it takes configuration from the
environment (see bot/config.py and the README) or from `test_config`. It refuses to start
(UnsafeConfiguration) without SECRET_KEY when Twilio is configured or the database is not
SQLite; a test app (`TESTING`) and the demo (SQLite, console) make a key of their own.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from bot.config import Settings, UnsafeConfiguration
from bot.engine.engine import Engine
from bot.logs import mask_phone_numbers
from storage.db import Database

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    mask_phone_numbers()
    app = Flask(__name__)
    settings = Settings.from_env()
    for key, value in (test_config or {}).items():
        if hasattr(settings, key):
            setattr(settings, key, value)
    refusal = settings.missing_secret_key()
    if refusal and not (test_config or {}).get("TESTING"):
        log.error("%s", refusal)
        raise UnsafeConfiguration(refusal)
    if not settings.secret_key:
        # A per-process key works for one process (the demo, a test); with several web
        # processes the dashboard's sign-ins need SECRET_KEY set, or each forgets the others'.
        log.warning("SECRET_KEY is not set: dashboard sign-ins last only as long as this process")
        settings.secret_key = os.urandom(32).hex()
    app.config.update(SECRET_KEY=settings.secret_key, KADAM=settings,
                      SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
                      PERMANENT_SESSION_LIFETIME=12 * 3600,
                      MAX_CONTENT_LENGTH=settings.media_max_bytes + 1024 * 1024)
    app.config.update({k: v for k, v in (test_config or {}).items() if k.isupper()})

    if settings.trusted_proxies > 0:
        # Behind a load balancer every request comes from the balancer's address; the
        # sign-in limit must count the client's (X-Forwarded-For), trusting only as many
        # hops as the operator says there are.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies)

    database = Database(settings.database_url)
    app.extensions["kadam.db"] = database
    app.extensions["kadam.engine"] = Engine(database, settings)

    from bot.web import admin, evidence, security, simulator, webhooks

    security.init_app(app)
    webhooks.init_app(app)
    evidence.init_app(app)
    admin.init_app(app)
    if simulator.enabled(settings):
        simulator.init_app(app)
    return app
