"""/admin: the state team's dashboard (progress, evidence, delivery, exports, actions).

Every page needs a signed-in user (see auth.py); every POST carries the session's CSRF token;
every query takes the user's Scope (storage/scope.py), so district and block users see only
their own schools, in pages and exports alike. Pages are server-rendered Jinja with one small
stylesheet and no script framework: they must work on a phone over a slow connection.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from itertools import chain
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, request, session
from sqlalchemy.orm import Session

from storage.db import Database
from storage.scope import Scope

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
# Ids are BIGINT: a larger number names no row, and SQLite and PostgreSQL both refuse to
# compare with it (a 500), so it is answered before any query.
MAX_ID = 2**63 - 1
OPEN_ENDPOINTS = {"admin.login", "admin.static"}
# The header's links, in order: (endpoint, label, for the state team only). A link shows once
# its page is registered.
NAV = (
    ("admin.evidence", "Evidence", False),
    ("admin.delivery", "Delivery", False),
    ("admin.broadcasts", "Broadcasts", True),
    ("admin.replies", "Replies not understood", True),
    ("admin.exports", "Exports", False),
    ("admin.upload_roster", "Roster", True),
    ("admin.upload_template", "Templates", True),
    ("admin.launch", "Launch", True),
)


def init_app(app: Flask) -> None:
    # Routes register on import.
    from bot.web.admin import (  # noqa: F401
        actions,
        auth,
        broadcast_pages,
        campaigns,
        delivery,
        exports,
        gallery,
        pages,
        replies,
    )

    app.register_blueprint(blueprint)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["percent"] = percent
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals["times_are_in"] = times_are_in
    app.context_processor(_nav)


def _nav() -> dict[str, Any]:
    user = g.get("user")
    if user is None:
        return {"admin_nav": []}
    links = [(endpoint, label) for endpoint, label, state in NAV
             if endpoint in current_app.view_functions and (user.role == "state" or not state)]
    return {"admin_nav": links}


def db() -> Database:
    return current_app.extensions["kadam.db"]


def sessions() -> Session:
    """A read session for one page (use as a context manager)."""
    return db().sessions()


def now() -> dt.datetime:
    """The dashboard's clock. ADMIN_NOW pins it (tests and benchmarks: what is "silent" or
    "the last 7 days" depends on it)."""
    pinned = current_app.config.get("ADMIN_NOW")
    return pinned if isinstance(pinned, dt.datetime) else dt.datetime.now(dt.UTC)


def scope() -> Scope:
    """The signed-in user's scope."""
    return g.scope


def state_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """For what only the state team may do (launch, broadcast, upload, pick celebrations)."""
    from functools import wraps

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user.role != "state":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def whole(text: str | None) -> int | None:
    """`text` as a whole number, or None when it is not one. ASCII digits only: str.isdigit
    alone passes "²", which int() then refuses."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def is_admin_path(target: str, under: tuple[str, ...] = ("/admin/",)) -> bool:
    """Whether a redirect to `target` stays on this site's dashboard: a path under /admin/
    (or `under`), with no scheme or host, no backslash (browsers read it as a slash) and no
    control characters (a line break cannot go in a header: a 500)."""
    parts = urlsplit(target)
    return (target.startswith(under) and not parts.scheme and not parts.netloc
            and "\\" not in target and not any(ord(c) < 32 or ord(c) == 127 for c in target))


def _has_nul() -> bool:
    """Whether the URL or a form field holds a NUL character. No name, code or text anyone
    types has one, and PostgreSQL refuses it in any text it is asked to compare or store."""
    values = chain([request.path], request.args.keys(), *request.args.listvalues(),
                   request.form.keys(), *request.form.listvalues())
    return any("\x00" in value for value in values)


def check_csrf() -> None:
    """A 400 unless the form carries this session's CSRF token (the dashboard's and the
    simulator's forms alike)."""
    sent = request.form.get("csrf_token", "")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500).
    if not sent or not hmac.compare_digest(sent.encode(), session.get("csrf", "").encode()):
        abort(400, "This form has expired. Go back, reload the page and try again.")


@blueprint.before_request
def _guard() -> Any:
    from bot.web.admin.auth import load_user, to_login

    if request.method == "POST":
        check_csrf()
    if _has_nul():
        abort(400, "The address or the form holds a NUL character: check what was typed.")
    if any(isinstance(value, int) and value > MAX_ID
           for value in (request.view_args or {}).values()):
        abort(404)
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not load_user():
        return to_login()
    if g.get("scope_problem") and request.endpoint != "admin.logout":
        abort(403, g.scope_problem)
    return None


@blueprint.after_request
def private_page(response: Any) -> Any:
    """Pages that hold names and phone numbers (the dashboard's, the simulator's): never kept
    in a shared cache, never framed, never sniffed."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def number(value: Any) -> str:
    """1234567 -> 12,34,567 in the Indian grouping when the region is IN, else 1,234,567."""
    from babel.numbers import format_decimal

    from bot.language.i18n import locale_for

    return format_decimal(int(value or 0),
                          locale=locale_for("en", current_app.config["KADAM"].default_region))


def percent(part: Any, whole: Any) -> str:
    return f"{round(100 * (part or 0) / whole)}%" if whole else "–"


def times_are_in(name: str | None = None) -> str:
    """The zone every time on a page is in, said once a page: "India Standard Time
    (Asia/Kolkata)". The dashboard's is KADAM_TIMEZONE; the simulator's, the school's."""
    from babel.dates import get_timezone_name

    from storage.schedule import zone

    name = name or current_app.config["KADAM"].timezone
    try:
        # At a given instant Babel names the zone as people say it: "India Standard Time".
        long = get_timezone_name(now().astimezone(zone(name)), locale="en")
    except (LookupError, ValueError):
        long = name
    return long if long == name else f"{long} ({name})"


def when(value: Any) -> str:
    """A UTC time as the dashboard shows it: in KADAM_TIMEZONE, to the minute."""
    if value is None:
        return ""
    from storage.schedule import zone

    local = value.astimezone(zone(current_app.config["KADAM"].timezone))
    return local.strftime("%d %b %Y %H:%M")
