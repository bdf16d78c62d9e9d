"""/admin/replies: "Replies not understood", and teaching Kadam a phrase. State team only.

Replies Kadam did not understand, and those their senders undid, are grouped by language and
folded words (storage/phrases.py), the group heard from last first, filtered by language and
campaign. On each group the state team can teach Kadam what the words mean; taught phrases
reach the parser in every process at the next message, are listed here and can be removed,
and `kadam phrases export` writes them as a phrase file to merge into flows/phrases/.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from bot.web.admin import MAX_ID, blueprint, db, now, sessions, state_only, whole
from flows import intents
from flows.languages import LANGUAGES
from storage import phrases

PER_PAGE = 30
INTENT_LABELS = phrases.INTENT_LABELS
intent_label = phrases.intent_label
REASON_LABELS = {phrases.NOT_UNDERSTOOD: "not understood", phrases.UNDONE: "undone"}


def _filters(args: Any) -> tuple[str, int | None, int]:
    """Language, campaign and page from a query string (or a form's copy of it)."""
    language = args.get("language", "").strip()
    if language not in phrases.LANGUAGE_CODES:
        language = ""
    campaign_id = whole(args.get("campaign"))
    if campaign_id is not None and campaign_id > MAX_ID:
        campaign_id = None
    page = max(1, min(whole(args.get("page")) or 1, 100_000))
    return language, campaign_id, page


def _page_url(language: str, campaign_id: int | None, page: int = 1) -> str:
    args: dict[str, Any] = {"language": language, "campaign": campaign_id, "page": page}
    return url_for("admin.replies", **{k: v for k, v in args.items() if v not in ("", None, 1)})


@blueprint.get("/replies")
@state_only
def replies() -> str:
    return _render(*_filters(request.args))


def _render(language: str, campaign_id: int | None, page: int, error: str = "",
            attempt: dict[str, str] | None = None, status: int = 200) -> Any:
    with sessions() as session:
        found = phrases.groups(session, language or None, campaign_id, page, PER_PAGE)
        taught = phrases.listed(session)
        campaigns = phrases.campaigns(session)
        current = phrases.taught(session)
    # What the parser makes of each group now, taught phrases included.
    reads = {(group.language, group.normalised): intents.parse(
        group.examples[0] if group.examples else group.normalised, group.language, current).name
        for group in found.groups}
    return render_template(
        "admin/replies.html", found=found, taught=taught, campaigns=campaigns, reads=reads,
        languages=LANGUAGES, language_name=phrases.language_name, intents=INTENT_LABELS,
        intent_label=intent_label, reasons=REASON_LABELS, error=error, attempt=attempt or {},
        chosen={"language": language, "campaign": campaign_id, "page": page},
        page_url=lambda p: _page_url(language, campaign_id, p)), status


@blueprint.post("/replies/teach")
@state_only
def teach_phrase() -> Any:
    form = request.form
    language, campaign_id, page = _filters({"language": form.get("filter_language", ""),
                                            "campaign": form.get("filter_campaign"),
                                            "page": form.get("filter_page")})
    attempt = {"language": form.get("language", "").strip(), "phrase": form.get("phrase", ""),
               "intent": form.get("intent", "").strip(), "group": form.get("group", "")}
    try:
        with db().transaction() as session:
            row, read = phrases.teach(session, attempt["language"], attempt["phrase"],
                                      attempt["intent"], g.user.email, now())
            phrase, intent = row.phrase, row.intent
    except phrases.PhraseError as problem:
        return _render(language, campaign_id, page, str(problem), attempt, 422)
    except IntegrityError:  # taught at the same moment by someone else
        return _render(language, campaign_id, page,
                       f"“{attempt['phrase'].strip()}” was just taught by someone else: see "
                       "the list below.", attempt, 422)
    said = (f"Taught: in {phrases.language_name(attempt['language'])}, “{phrase}” means "
            f"{intent_label(intent)}. Kadam now reads it as {intent_label(read.name)}.")
    if read.name != intent:
        said += (" That is not what was taught: a rule of the reader comes first (a "
                 "negation, a task number, a stop that must be the whole reply), or the "
                 "reader does not use taught phrases yet.")
    flash(said, "" if read.name == intent else "error")
    return redirect(_page_url(language, campaign_id, page))


@blueprint.post("/replies/taught/<int:phrase_id>/remove")
@state_only
def remove_phrase(phrase_id: int) -> Any:
    with db().transaction() as session:
        row = phrases.remove(session, phrase_id, now())
        if row is None:
            abort(404)
        said = (f"Removed “{row.phrase}” ({phrases.language_name(row.language)}, "
                f"{intent_label(row.intent)}): Kadam no longer reads it so.")
    flash(said)
    form = request.form
    language, campaign_id, page = _filters({"language": form.get("filter_language", ""),
                                            "campaign": form.get("filter_campaign"),
                                            "page": form.get("filter_page")})
    return redirect(_page_url(language, campaign_id, page))
