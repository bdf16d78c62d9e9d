"""A campaign and its drill-down: campaign -> district -> block -> school -> project.

Each page reads through the signed-in user's Scope; a district, block, school or project
outside it is a 404, exactly like one that does not exist, so a URL typed by hand tells a
district user nothing about the next district.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template, request, url_for

from bot.language.messages import render
from bot.web.admin import blueprint, now, scope, sessions, whole
from bot.worker.outbound import REMOVED
from storage import dashboard
from storage.gallery import Page
from storage.retention import PURGED_PARAMS


def _page() -> int:
    return max(1, min(whole(request.args.get("page")) or 1, 100_000))


def _silent_only() -> bool:
    return request.args.get("silent") == "1"


def _has(endpoint: str) -> bool:
    """Whether a page other helpers build is registered yet (links to it show once it is)."""
    return endpoint in current_app.view_functions


def _campaign(session: Any, campaign_id: int) -> dashboard.CampaignInfo:
    campaign = dashboard.campaign_info(session, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@blueprint.get("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int) -> str:
    mine = scope()
    with sessions() as session:
        info = _campaign(session, campaign_id)
        # The state sees districts; a district or block user the blocks of their area.
        areas = dashboard.area_rows(session, mine, campaign_id, now(),
                                    by_block=not mine.is_everything)
        if not areas and not mine.is_everything:
            abort(404)  # no school of this campaign in their area: as if it did not exist
        steps = dashboard.funnel(session, mine, info)
    return render_template("admin/campaign.html", campaign=info, areas=areas,
                           whole=dashboard.total(areas), steps=steps,
                           by_block=not mine.is_everything,
                           behind_completion=dashboard.BEHIND_COMPLETION)


@blueprint.get("/campaigns/<int:campaign_id>/districts/<district>")
def campaign_district(campaign_id: int, district: str) -> str:
    return _area(campaign_id, district, None)


@blueprint.get("/campaigns/<int:campaign_id>/districts/<district>/blocks/<block>")
def campaign_block(campaign_id: int, district: str, block: str) -> str:
    return _area(campaign_id, district, block)


def _area(campaign_id: int, district: str, block: str | None) -> str:
    """A district's blocks (and, with ?silent=1, its silent schools), or a block's schools."""
    mine = scope()
    # Refused before any query: narrowing to a place outside the scope gives a scope nothing
    # matches, but one whose condition PostgreSQL cannot run (a NUL byte in the name).
    if not mine.holds(district, block or mine.block):
        abort(404)
    area = mine.narrowed(district, block or None)
    silent_only = _silent_only()
    at = now()
    with sessions() as session:
        info = _campaign(session, campaign_id)
        blocks = dashboard.area_rows(session, area, campaign_id, at, by_block=True)
        if not blocks:
            abort(404)  # outside the scope, or no such place in this campaign
        schools: Page | None = None
        if block is not None or silent_only:
            schools = dashboard.school_rows(session, area, campaign_id, at, silent_only,
                                            _page())
    whole = dashboard.total(blocks)
    # The names as the roster spells them (the URL may differ in case).
    names = {"district": blocks[0].district, "block": blocks[0].block if block else None}
    base: dict[str, Any] = {"campaign_id": campaign_id, "district": names["district"]}
    if block is not None:
        base["block"] = names["block"]
    endpoint = "admin.campaign_block" if block is not None else "admin.campaign_district"

    def link(page: int = 1, silent: bool = silent_only) -> str:
        """This page with another page number or filter (defaults left out of the URL)."""
        args: dict[str, Any] = dict(base)
        if silent:
            args["silent"] = 1
        if page > 1:
            args["page"] = page
        return url_for(endpoint, **args)

    return render_template(
        "admin/area.html", campaign=info, blocks=blocks, whole=whole, schools=schools,
        silent_only=silent_only, names=names, link=link, exports=_exports(campaign_id, names,
                                                                          silent_only),
        behind_completion=dashboard.BEHIND_COMPLETION)


def _exports(campaign_id: int, names: dict[str, str | None], silent_only: bool
             ) -> list[tuple[str, str]]:
    """(label, URL) of this area's project spreadsheets, once the exports page exists."""
    if not _has("admin.export"):
        return []
    args: dict[str, Any] = {"campaign": campaign_id, **{k: v for k, v in names.items() if v}}
    if silent_only:
        args["silent"] = 1
    return [(label, url_for("admin.export", what="projects", fmt=fmt, **args))
            for label, fmt in (("Excel", "xlsx"), ("CSV", "csv"))]


@blueprint.get("/schools/<code>")
def school(code: str) -> str:
    with sessions() as session:
        detail = dashboard.school_detail(session, scope(), code, now())
    if detail is None:
        abort(404)
    # Reached from a campaign's block page: the crumbs lead back through that campaign.
    wanted = whole(request.args.get("campaign"))
    via = next((p for p in detail.projects if p.campaign_id == wanted), None)
    return render_template("admin/school.html", school=detail, via=via)


@blueprint.get("/projects/<int:project_id>")
def project(project_id: int) -> str:
    with sessions() as session:
        detail = dashboard.project_detail(session, scope(), project_id, now())
    if detail is None:
        abort(404)
    for event in detail.events:
        if event.kind == "out":
            _words_sent(event.data, detail.headmaster.language)
    return render_template("admin/project.html", project=detail,
                           photos=_has("admin.evidence_photo"))


def _words_sent(data: dict[str, Any], language: str) -> None:
    """What the headmaster read: the text as sent, or as it will be sent while it waits; with
    the English beside it for a state user who does not read that script."""
    if data.get("params") == PURGED_PARAMS:
        data["text"], data["english"] = REMOVED.text, ""
        return
    language = data.get("language") or language
    options = list(data.get("options") or [])
    try:
        region = current_app.config["KADAM"].default_region
        rendered = render(data["key"], data.get("params") or {}, options, language,
                          region=region).numbered()
        english = render(data["key"], data.get("params") or {}, options, "en",
                         region=region).numbered()
    except (KeyError, ValueError, TypeError):
        rendered = english = ""  # a message of an older release: its key is all there is
    data["text"] = data.get("body") or rendered
    data["english"] = english if english and english != data["text"] else ""
