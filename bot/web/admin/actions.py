"""The state team's actions on the dashboard: upload a roster or a template, launch a campaign,
send a circular. State users only.

Each is the command line's work (bot/sheets/roster.py, storage/templates.py, storage/campaigns.py,
storage/broadcasts.py) behind a form: the same checks, the same all-or-nothing transactions.
Bad input gets its reasons on the page and writes nothing. A launch and a broadcast are
reviewed first (who would get what, counted without writing), then confirmed; a confirmation
is good once, so reloading the result page cannot launch or send twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from babel import Locale, UnknownLocaleError
from flask import current_app, redirect, render_template, request, session, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from bot.language.i18n import language_name
from bot.sheets.roster import (
    PEOPLE_LABELS,
    RosterFileError,
    known_school_codes,
    read_rows,
    schools_and_people,
    validate,
)
from bot.web.admin import blueprint, db, sessions, state_only
from storage import roster as roster_store
from storage import templates as template_store
from storage.broadcasts import ROLES as BROADCAST_ROLES
from storage.broadcasts import BroadcastError, audience_by_language, create, unmatched
from storage.campaigns import (
    REASONS,
    START_WITHIN,
    AudienceSpec,
    CampaignError,
    launch,
    parse_audience,
    preview,
)
from storage.roster import upsert
from storage.schedule import zone

ROSTER_SUFFIXES = (".csv", ".xlsx", ".xlsm")
ERRORS_SHOWN = 500  # row errors listed on the page; the count says how many more
TEMPLATE_MAX_BYTES = 1024 * 1024
MAX_NAME = 255  # campaign.name
MAX_MESSAGE = 4096  # a broadcast's text per language
LANGUAGE_FIELD = re.compile(r"message_([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})?)")
# How far from today a campaign may start: further is a typo in the year (and near the end of
# the calendar, the tasks' due dates would not fit in a date at all).
class BadInput(ValueError):
    """What is wrong with a form, in words for the page."""


# -- shared parts ----------------------------------------------------------------------------


def _settings() -> Any:
    return current_app.config["KADAM"]


@contextmanager
def _saved(upload: FileStorage) -> Iterator[Path]:
    """The upload as a file on disk, under its own (sanitised) name so that messages name the
    file the user chose; deleted, with its directory, afterwards."""
    name = secure_filename(upload.filename or "") or "upload"
    with tempfile.TemporaryDirectory(prefix="kadam-upload-") as directory:
        path = Path(directory) / name
        upload.save(path)
        yield path


def _issue(kind: str) -> str:
    """A one-time token for a review page's confirm button."""
    token = secrets.token_urlsafe(16)
    session[f"once.{kind}"] = token
    return token


def _redeem(kind: str) -> bool:
    """Whether the form carries the token issued at review; it is spent either way."""
    issued = session.pop(f"once.{kind}", "")
    sent = request.form.get("once", "")
    # As bytes: compare_digest refuses str with non-ASCII characters (a 500).
    return bool(issued and sent and hmac.compare_digest(issued.encode(), sent.encode()))


def _audience(text: str) -> list[AudienceSpec]:
    """One spec per line: all, district:NAME, block:NAME, school:CODE."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise BadInput("Say who it is for: all, district:NAME, block:NAME or school:CODE, "
                       "one per line.")
    problems, specs = [], []
    for line in lines:
        try:
            specs.append(parse_audience(line))
        except CampaignError as error:
            problems.append(str(error))
    if problems:
        raise BadInput("; ".join(problems))
    return list(dict.fromkeys(specs))


# -- roster ----------------------------------------------------------------------------------


@blueprint.route("/roster", methods=["GET", "POST"])
@state_only
def upload_roster() -> Any:
    if request.method == "GET":
        return render_template("admin/upload_roster.html")
    skip = request.form.get("skip_invalid") == "1"
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise BadInput("Choose a roster file (CSV or XLSX) to upload.")
        if Path(upload.filename).suffix.lower() not in ROSTER_SUFFIXES:
            raise BadInput(f"{upload.filename} is not a roster file: upload a .csv or .xlsx.")
        region = (_settings().default_region or "IN").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise BadInput(f"KADAM_DEFAULT_REGION {region!r} is not a region code; ask the "
                           "operator to fix it.")
        with _saved(upload) as path:
            try:
                rows = read_rows(path)
            except csv.Error as error:  # a cell over the csv module's limit, say
                raise BadInput(f"{upload.filename} could not be read as CSV: {error}.") from error
    except (BadInput, RosterFileError) as error:
        return render_template("admin/upload_roster.html", error=str(error), skip=skip), 422

    database = db()
    valid, errors = validate(rows, region, known_school_codes(database, rows))
    invalid_rows = len({error.row for error in errors})
    shown = {"errors": errors[:ERRORS_SHOWN], "more_errors": max(0, len(errors) - ERRORS_SHOWN),
             "invalid_rows": invalid_rows, "rows": len(rows), "filename": upload.filename,
             "skip": skip}
    if errors and not skip:
        return render_template("admin/upload_roster.html", **shown,
                               error=f"Nothing imported: {invalid_rows} row(s) have errors. "
                                     "Fix them and upload again, or tick “skip invalid rows” "
                                     "to import the other rows."), 422
    schools, people = schools_and_people(valid)
    try:
        counts = upsert(database, schools, people)
    except ValueError as error:  # a school deleted meanwhile, say: nothing was written
        return render_template("admin/upload_roster.html", **shown,
                               error=f"Nothing imported: {error}"), 422
    people_counts = [(label, counts.people_created[role], counts.people_updated[role])
                     for role, label in PEOPLE_LABELS]
    return render_template("admin/upload_roster.html", **shown, counts=counts,
                           people_counts=people_counts)


# -- templates -------------------------------------------------------------------------------


@dataclass
class TemplateRow:
    slug: str
    version: int
    versions: int
    title: str
    tasks: int
    loaded_at: dt.datetime


def loaded_templates() -> list[TemplateRow]:
    """Every template's latest version, by slug."""
    with sessions() as s:
        return [TemplateRow(t.slug, t.version, versions, _title(t.title), len(t.tasks),
                            t.loaded_at) for t, versions in template_store.latest_versions(s)]


def _title(title: Any) -> str:
    if isinstance(title, dict):
        return str(title.get("en") or next(iter(title.values()), ""))
    return str(title or "")


@blueprint.route("/templates", methods=["GET", "POST"])
@state_only
def upload_template() -> Any:
    if request.method == "GET":
        return render_template("admin/upload_template.html", templates=loaded_templates())
    upload = request.files.get("file")
    problems: list[template_store.Problem] = []
    notes: list[template_store.Problem] = []
    try:
        if upload is None or not upload.filename:
            raise BadInput("Choose a template file (YAML) to upload.")
        with _saved(upload) as path:
            if path.stat().st_size > TEMPLATE_MAX_BYTES:
                raise BadInput(f"{upload.filename} is larger than a template can be (1 MB).")
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise BadInput(f"{upload.filename} is not UTF-8 text.") from error
        try:
            document = template_store.parse(text)
        except template_store.TemplateSyntaxError as error:
            raise BadInput(f"{upload.filename}: {error}") from error
        found = template_store.validate(document)
        problems = [p for p in found if p.is_error]
        notes = [p for p in found if not p.is_error]
        if problems:
            count = len(problems)
            raise BadInput(f"{upload.filename}: {count} error{'s' if count > 1 else ''}; "
                           "nothing loaded.")
        try:
            _, version, created = template_store.load(db(), document)
        except template_store.InvalidTemplate as error:
            problems = error.problems
            raise BadInput(f"{upload.filename}: nothing loaded.") from error
    except BadInput as error:
        return render_template("admin/upload_template.html", error=str(error),
                               problems=problems, notes=notes,
                               templates=loaded_templates()), 422
    slug, tasks = document["slug"], len(document["tasks"])
    done = (f"Loaded {slug} version {version} ({tasks} tasks)." if created
            else f"{slug} is unchanged: still version {version}.")
    return render_template("admin/upload_template.html", done=done, notes=notes,
                           templates=loaded_templates())


# -- launch ----------------------------------------------------------------------------------


@dataclass
class LaunchForm:
    slug: str = ""
    version: str = ""
    audience: str = "all"
    start: str = ""
    name: str = ""
    specs: list[AudienceSpec] = field(default_factory=list)
    start_date: dt.date | None = None

    @classmethod
    def read(cls) -> LaunchForm:
        form = request.form
        return cls(slug=form.get("template", "").strip(),
                   version=form.get("version", "").strip(),
                   audience="\n".join(form.getlist("audience")),
                   start=form.get("start", "").strip(),
                   name=" ".join(form.get("name", "").split()))

    def check(self, templates: list[TemplateRow]) -> TemplateRow:
        if not self.slug:
            raise BadInput("Choose a template.")
        chosen = next((t for t in templates if t.slug == self.slug), None)
        if chosen is None:
            raise BadInput(f"No template {self.slug!r} is loaded; upload it on the Templates "
                           "page first.")
        self.specs = _audience(self.audience)
        if not self.start:
            raise BadInput("Give the start date: day 0 of the tasks' schedule.")
        try:
            self.start_date = dt.date.fromisoformat(self.start)
        except ValueError as error:
            raise BadInput(f"{self.start!r} is not a date like 2026-07-01.") from error
        if abs(self.start_date - _today()) > START_WITHIN:
            raise BadInput(f"{self.start} is more than ten years from today: check the year.")
        if len(self.name) > MAX_NAME:
            raise BadInput(f"The name is too long ({len(self.name)} characters; at most "
                           f"{MAX_NAME}).")
        return chosen


def _today() -> dt.date:
    return dt.datetime.now(zone(_settings().timezone)).date()


@blueprint.route("/campaigns/new", methods=["GET", "POST"], endpoint="launch")
@state_only
def launch_campaign() -> Any:
    templates = loaded_templates()
    if request.method == "GET":
        return render_template("admin/launch.html", templates=templates,
                               form=LaunchForm(start=_today().isoformat()))
    form = LaunchForm.read()
    step = request.form.get("step", "review")
    try:
        template = form.check(templates)
        if step == "launch":
            if not _redeem("launch"):
                raise BadInput("This launch was already confirmed, or its review is out of "
                               "date. Check the Campaigns page before launching again.")
            if form.version != str(template.version):
                # Launch takes the latest version: confirm only what was reviewed.
                return _review(form, template, notice=(
                    f"{template.slug} changed to version {template.version} since your "
                    "review: check the numbers again."))
            report = launch(db(), form.slug, form.specs, form.start_date, name=form.name or None)
            return render_template("admin/launch.html", launched=report, reasons=REASONS,
                                   campaign_link=_campaign_link(report.campaign_id))
        return _review(form, template)
    except (BadInput, CampaignError) as error:
        return render_template("admin/launch.html", templates=templates, form=form,
                               error=str(error)), 422


def _review(form: LaunchForm, template: TemplateRow, notice: str = "") -> str:
    report = preview(db(), form.slug, form.specs, form.start_date, name=form.name or None)
    missing = [(language_name(code), count) for code, count in report.missing_languages.items()]
    return render_template("admin/launch.html", review=report, form=form, template=template,
                           reasons=REASONS, notice=notice, once=_issue("launch"),
                           missing=missing)


def _campaign_link(campaign_id: int) -> str | None:
    if "admin.campaign" in current_app.view_functions:
        return url_for("admin.campaign", campaign_id=campaign_id)
    return None


# -- broadcast -------------------------------------------------------------------------------


def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def roster_languages() -> list[str]:
    """English, then every language someone in the roster reads."""
    with sessions() as s:
        found = roster_store.languages(s)
    return ["en", *sorted({code for code in found if code and code != "en"})]


@dataclass
class BroadcastForm:
    audience: str = "all"
    role: str = "headmaster"
    message: dict[str, str] = field(default_factory=dict)
    media_url: str = ""
    send_at_text: str = ""
    specs: list[AudienceSpec] = field(default_factory=list)
    send_at: dt.datetime | None = None

    @classmethod
    def read(cls) -> BroadcastForm:
        form = request.form
        message = {}
        for key, value in form.items():
            match = LANGUAGE_FIELD.fullmatch(key)
            if match and value.strip():
                message[match.group(1)] = value.strip().replace("\r\n", "\n")
        return cls(audience="\n".join(form.getlist("audience")), role=form.get("role", "").strip(),
                   message=message, media_url=form.get("media_url", "").strip(),
                   send_at_text=form.get("send_at", "").strip())

    def check(self) -> None:
        self.specs = _audience(self.audience)
        if self.role not in BROADCAST_ROLES:
            raise BadInput(f"Send to one of {', '.join(BROADCAST_ROLES)}, not {self.role!r}.")
        if not self.message.get("en"):
            raise BadInput("Write the message in English at least; other languages are "
                           "optional (people get the nearest language written).")
        for code, text in self.message.items():
            if _locale(code) is None:
                raise BadInput(f"{code!r} is not a language code.")
            if len(text) > MAX_MESSAGE:
                raise BadInput(f"The {language_name(code)} text is too long ({len(text)} "
                               f"characters; at most {MAX_MESSAGE}).")
        if self.media_url:
            parts = urlsplit(self.media_url)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise BadInput(f"{self.media_url!r} is not a web address: the attachment must "
                               "be a public https:// link to an image or PDF.")
        if self.send_at_text:
            try:
                local = dt.datetime.fromisoformat(self.send_at_text)
            except ValueError as error:
                raise BadInput(f"{self.send_at_text!r} is not a date and time.") from error
            if local.tzinfo is None:
                local = local.replace(tzinfo=zone(_settings().timezone))
            try:
                self.send_at = local.astimezone(dt.UTC)
            except OverflowError as error:  # the first or last day of the calendar
                raise BadInput(f"{self.send_at_text!r} is not a date and time to send "
                               "at.") from error


@dataclass
class BroadcastAudience:
    people: int = 0
    opted_out: int = 0
    by_language: list[tuple[str, str, int, bool]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def broadcast_audience(form: BroadcastForm) -> BroadcastAudience:
    """Who a broadcast would reach, counted without writing: people by language, and how many
    of them opted out (they are recorded as not sent)."""
    with sessions() as s:
        result = BroadcastAudience(unmatched=unmatched(s, form.specs))
        rows = audience_by_language(s, form.specs, form.role)
    for language, count, opted_out in rows:
        result.people += count
        result.opted_out += opted_out
        result.by_language.append((language, language_name(language), count,
                                   language in form.message))
    return result


@blueprint.route("/broadcasts/new", methods=["GET", "POST"])
@state_only
def new_broadcast() -> Any:
    languages = roster_languages()
    if request.method == "GET":
        return render_template("admin/new_broadcast.html", form=BroadcastForm(),
                               languages=_languages(languages, {}), roles=BROADCAST_ROLES)
    form = BroadcastForm.read()
    step = request.form.get("step", "review")
    try:
        form.check()
        if step == "send":
            if not _redeem("broadcast"):
                raise BadInput("This broadcast was already confirmed, or its review is out "
                               "of date. Check the Broadcasts page before sending again.")
            result = create(db(), form.message, [str(s) for s in form.specs], form.role,
                            form.media_url or None, form.send_at)
            if "admin.broadcast" in current_app.view_functions:
                return redirect(url_for("admin.broadcast", broadcast_id=result.broadcast_id))
            return render_template("admin/new_broadcast.html", sent=result)
        audience = broadcast_audience(form)
        once = _issue("broadcast") if audience.people else ""
        return render_template("admin/new_broadcast.html", review=audience, form=form,
                               once=once,
                               languages=_languages(languages, form.message),
                               zone_name=_settings().timezone)
    except (BadInput, BroadcastError, CampaignError) as error:
        return render_template("admin/new_broadcast.html", form=form, error=str(error),
                               languages=_languages(languages, form.message),
                               roles=BROADCAST_ROLES), 422


@blueprint.context_processor
def _broadcasts_link() -> dict[str, Any]:
    # The list of broadcasts is another page's (bot/web/admin/broadcast_pages.py); link it if there.
    if request.endpoint == "admin.new_broadcast" and "admin.broadcasts" in \
            current_app.view_functions:
        return {"broadcasts_link": url_for("admin.broadcasts")}
    return {}


def _languages(roster: list[str], message: dict[str, str]) -> list[tuple[str, str]]:
    """The message boxes: the roster's languages and any the form already has text in."""
    codes = list(dict.fromkeys([*roster, *message]))
    return [(code, language_name(code)) for code in codes]
