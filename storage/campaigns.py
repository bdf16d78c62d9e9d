"""Launching a campaign: one project per school in the audience, its tasks, an invitation to
each headmaster, and their conversations set to wait for the answer.

This module says who (the audience, who is skipped and why) and reports; the rows are written
by storage/campaign_rows.py, set-based (INSERT ... SELECT), so a state's 100,000 schools
launch in a handful of statements, and it all commits in ONE transaction: a failed launch
leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from storage import campaign_rows
from storage.campaign_rows import INVITE_OPTIONS as INVITE_OPTIONS
from storage.campaign_rows import Condition, headmaster_of_school
from storage.campaign_rows import invitation_params as invitation_params
from storage.campaign_rows import invitation_params_many as invitation_params_many
from storage.db import Database
from storage.models import Campaign, Person, Project, School, Template
from storage.schedule import DEFAULT_TIMEZONE, Pace
from storage.templates import languages_spoken, latest

AUDIENCE_KINDS = ("all", "district", "block", "school")
EXAMPLES = 5  # school codes shown per skip reason

# Why a school in the audience got no invitation, in the words the state team reads.
NO_HEADMASTER = "no_headmaster"
ALREADY_IN_CAMPAIGN = "already_in_campaign"
OPTED_OUT = "opted_out"
REASONS = {
    NO_HEADMASTER: "no headmaster in roster",
    ALREADY_IN_CAMPAIGN: "already in this campaign",
    OPTED_OUT: "headmaster opted out (project created, not messaged)",
}


class CampaignError(ValueError):
    """A launch that cannot go ahead: the message says why, for the person at the terminal."""


@dataclass(frozen=True)
class AudienceSpec:
    """`all`, or every school in a district or block, or one school by code."""

    kind: str
    value: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"

    def matches(self) -> ColumnElement[bool]:
        """A condition on School. Names compare trimmed and case-insensitively, because roster
        spreadsheets spell 'Pune', 'PUNE ' and 'pune' for the same district."""
        if self.kind == "all":
            return true()
        if self.kind == "school":
            # Codes are exact (trimmed), so the unique index on school.code does the lookup.
            return School.code == self.value
        column = School.district if self.kind == "district" else School.block
        return func.lower(func.trim(column)) == func.lower(literal(self.value))


def parse_audience(spec: str | AudienceSpec) -> AudienceSpec:
    """`all`, `district:NAME`, `block:NAME` or `school:CODE`; raises CampaignError otherwise."""
    if isinstance(spec, AudienceSpec):
        return spec
    raw = spec.strip()
    if raw.lower() == "all":
        return AudienceSpec("all")
    kind, sep, value = raw.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in AUDIENCE_KINDS[1:]:
        raise CampaignError(
            f"audience {spec!r} is not one of: all, district:NAME, block:NAME, school:CODE"
        )
    if not value:
        raise CampaignError(f"audience {spec!r} names no {kind}")
    return AudienceSpec(kind, value)


@dataclass
class Skipped:
    count: int = 0
    examples: list[str] = field(default_factory=list)  # the first few school codes


@dataclass
class LaunchReport:
    """What a launch or an extension did, for the CLI, the dashboard and the logs."""

    campaign_id: int
    campaign_name: str
    template: str  # slug@version
    start_date: dt.date
    projects_created: int = 0
    headmasters_invited: int = 0
    skipped: dict[str, Skipped] = field(default_factory=dict)  # by reason, see REASONS
    # Headmasters to be invited whose language the template lacks: {language code: how many}.
    # They read it in their second language, else English (bot.language.i18n's fallback chain).
    missing_languages: dict[str, int] = field(default_factory=dict)


def today(timezone: str = DEFAULT_TIMEZONE) -> dt.date:
    """Today where the state team is, not in UTC: launches happen mornings in India, when UTC
    can still be on yesterday's date. Callers pass their zone (Settings.timezone,
    KADAM_TIMEZONE); the default is KADAM_TIMEZONE's."""
    try:
        return dt.datetime.now(ZoneInfo(timezone)).date()
    except (KeyError, ValueError) as error:  # ZoneInfoNotFoundError is a KeyError
        raise CampaignError(f"unknown time zone {timezone!r} in KADAM_TIMEZONE") from error


# A start date further than this from today is a typo in the year (and past the calendar's
# end, a crash when the task dates are computed).
START_WITHIN = dt.timedelta(days=10 * 366)


def launch(
    database: Database,
    slug: str,
    audience_specs: Sequence[str | AudienceSpec],
    start_date: dt.date | None = None,
    name: str | None = None,
    now: dt.datetime | None = None,
    settings: dict[str, Any] | None = None,
) -> LaunchReport:
    """Creates a campaign on the latest version of template `slug` and invites its audience.

    `settings` (send_time, reminder_after_days, max_reminders, lapse_after_days) override the
    template's; the result is fixed on the campaign so its pace never shifts under it.
    """
    specs = _parse_all(audience_specs)
    now = now or dt.datetime.now(dt.UTC)
    start_date = start_date or today()
    if abs(start_date - now.date()) > START_WITHIN:
        raise CampaignError(f"{start_date} is more than ten years from today: check the year")
    with database.transaction() as session:
        template = _template(session, slug)
        pace = _pace(template, settings)
        campaign = Campaign(
            template_id=template.id,
            name=name or default_name(template, start_date),
            audience=[],
            start_date=start_date,
            settings=pace.as_settings(),
            created_at=now,
        )
        session.add(campaign)
        session.flush()
        report = add_schools(session, campaign, template, specs, now)
    database.analyze("outbox")
    return report


def preview(
    database: Database,
    slug: str,
    audience_specs: Sequence[str | AudienceSpec],
    start_date: dt.date | None = None,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
) -> LaunchReport:
    """What `launch` with these arguments would do now, counted without writing anything.

    The report has campaign_id 0; its counts are those launch would report (a new campaign
    has no school in it yet, so nothing is skipped as already in it). For the dashboard's
    review step: the state team sees who gets a project, and who is skipped and why, first.
    """
    specs = _parse_all(audience_specs)
    start_date = start_date or today()
    with database.sessions() as session:
        template = _template(session, slug)
        _pace(template, settings)  # a bad setting is refused here, not at launch
        report = LaunchReport(
            campaign_id=0,
            campaign_name=name or default_name(template, start_date),
            template=f"{template.slug}@{template.version}",
            start_date=start_date,
        )
        refuse_unmatched(session, specs)
        in_audience = or_(*(spec.matches() for spec in specs))
        headmasters = headmaster_of_school()
        gets_project = exists().where(headmasters.c.school_id == School.id)
        opted_out = exists().where(headmasters.c.school_id == School.id,
                                   Person.id == headmasters.c.headmaster_id,
                                   Person.opted_out_at.is_not(None))
        report.projects_created = int(session.scalar(
            select(func.count()).select_from(School).where(in_audience, gets_project)) or 0)
        report.skipped[ALREADY_IN_CAMPAIGN] = Skipped()
        report.skipped[NO_HEADMASTER] = _skipped(session, in_audience & ~gets_project)
        report.skipped[OPTED_OUT] = _skipped(session, in_audience & opted_out)
        report.headmasters_invited = report.projects_created - report.skipped[OPTED_OUT].count
        report.missing_languages = _missing_languages(session, template, in_audience)
    return report


def _missing_languages(session: Session, template: Template, in_audience: Condition
                       ) -> dict[str, int]:
    """How many of the headmasters a launch would message read a language the template lacks,
    by language, most first."""
    headmasters = headmaster_of_school()
    language = func.coalesce(Person.language, "en")
    rows = session.execute(
        select(language, func.count())
        .select_from(School)
        .join(headmasters, headmasters.c.school_id == School.id)
        .join(Person, Person.id == headmasters.c.headmaster_id)
        .where(in_audience, Person.opted_out_at.is_(None),
               language.not_in(sorted(languages_spoken(template)) or [""]))
        .group_by(language)
    ).all()
    return dict(sorted(((code, int(count)) for code, count in rows),
                       key=lambda item: (-item[1], item[0])))


def default_name(template: Template, start_date: dt.date) -> str:
    """A campaign's name when the state team gives none: the English title and the start."""
    title = template.title.get("en") or next(iter(template.title.values()), template.slug)
    return f"{title} {start_date.isoformat()}"


def _template(session: Session, slug: str) -> Template:
    template = latest(session, slug)
    if template is None:
        raise CampaignError(f"no template {slug!r} is loaded (kadam template load FILE)")
    return template


def _pace(template: Template, settings: dict[str, Any] | None) -> Pace:
    try:
        return Pace.from_settings((template.document or {}).get("settings"), settings)
    except (TypeError, ValueError) as error:
        raise CampaignError(f"bad campaign setting: {error}") from error


def extend(
    database: Database,
    campaign_id: int,
    audience_specs: Sequence[str | AudienceSpec],
    now: dt.datetime | None = None,
) -> LaunchReport:
    """Invites more schools to a running campaign; schools already in it are left alone."""
    specs = _parse_all(audience_specs)
    now = now or dt.datetime.now(dt.UTC)
    with database.transaction() as session:
        # The row lock makes two extensions of one campaign take turns, which is what lets
        # add_schools tell its own new projects apart by id (see there).
        campaign = session.scalars(
            select(Campaign).where(Campaign.id == campaign_id).with_for_update()
        ).first()
        if campaign is None:
            raise CampaignError(f"no campaign with id {campaign_id}")
        template = session.get(Template, campaign.template_id)
        assert template is not None  # a foreign key
        report = add_schools(session, campaign, template, specs, now)
    database.analyze("outbox")
    return report


def add_schools(
    session: Session,
    campaign: Campaign,
    template: Template,
    specs: Sequence[AudienceSpec],
    now: dt.datetime,
) -> LaunchReport:
    """The set-based heart of launch and extend; runs inside the caller's transaction."""
    report = LaunchReport(
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        template=f"{template.slug}@{template.version}",
        start_date=campaign.start_date,
    )
    campaign.audience = list(dict.fromkeys([*campaign.audience, *map(str, specs)]))
    _refresh_statistics(session)
    refuse_unmatched(session, specs)
    in_audience = or_(*(spec.matches() for spec in specs))
    in_campaign = exists().where(Project.campaign_id == campaign.id, Project.school_id == School.id)
    has_headmaster = exists().where(Person.school_id == School.id, Person.role == "headmaster")

    report.skipped[ALREADY_IN_CAMPAIGN] = _skipped(session, in_audience & in_campaign)
    report.skipped[NO_HEADMASTER] = _skipped(session, in_audience & ~in_campaign & ~has_headmaster)

    # Projects of this campaign above this id are the ones made now: extend holds the
    # campaign's row lock and ids only grow, so nobody else adds to this campaign meanwhile.
    watermark = session.scalar(
        select(func.coalesce(func.max(Project.id), 0)).where(Project.campaign_id == campaign.id)
    )
    new_projects = (Project.campaign_id == campaign.id) & (Project.id > watermark)

    report.projects_created = campaign_rows.insert_projects(
        session, campaign.id, in_audience & ~in_campaign, now
    )
    campaign_rows.insert_tasks(session, template, campaign.start_date, new_projects)
    campaign_rows.set_invitation_reminders(session, new_projects,
                                           Pace.from_settings(campaign.settings), now)
    report.headmasters_invited = campaign_rows.queue_invitations(session, new_projects, now)
    campaign_rows.wait_for_answers(session, new_projects, now)
    report.skipped[OPTED_OUT] = _skipped(
        session,
        exists().where(
            Project.school_id == School.id,
            new_projects,
            Project.headmaster_id == Person.id,
            Person.opted_out_at.is_not(None),
        ),
    )
    return report


# -- small parts ---------------------------------------------------------------------------


def _refresh_statistics(session: Session) -> None:
    """PostgreSQL plans a launch's anti-joins by table statistics; straight after a roster
    import, before autovacuum has analysed, it thinks the tables are tiny and picks nested
    loops that take minutes for a state. ANALYZE samples a fixed number of rows, so this
    stays cheap."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE school, person, project"))


def _skipped(session: Session, condition: ColumnElement[bool]) -> Skipped:
    """How many audience schools meet `condition`, and the first few codes, in one query."""
    rows = session.execute(
        select(School.code, func.count().over())
        .where(condition)
        .order_by(School.code)
        .limit(EXAMPLES)
    ).all()
    return Skipped(count=rows[0][1] if rows else 0, examples=[code for code, _ in rows])


def _names_a_school(session: Session, spec: AudienceSpec) -> bool:
    return session.scalar(select(School.id).where(spec.matches()).limit(1)) is not None


def refuse_unmatched(session: Session, specs: Sequence[AudienceSpec]) -> None:
    """A spec that names no school is a typo far more often than an intention: the whole
    launch (or extension) is refused, with the nearest name the roster has, so that half an
    audience is never invited by mistake."""
    problems = []
    for spec in specs:
        if spec.kind == "all" or _names_a_school(session, spec):
            continue
        near = nearest_name(session, spec)
        hint = f" (did you mean {spec.kind}:{near}?)" if near else ""
        problems.append(f"{spec} matches no school in the roster{hint}")
    if problems:
        raise CampaignError("; ".join(problems) + ". Nothing was launched: correct the "
                            "audience and try again.")


def nearest_name(session: Session, spec: AudienceSpec) -> str | None:
    """The roster's district, block or school code closest to a mistyped one."""
    column = {"district": School.district, "block": School.block, "school": School.code}[
        spec.kind]
    # A roster spells a district several ways ("Pune", "PUNE "): offer the most common.
    spellings = session.execute(select(func.trim(column), func.count()).group_by(
        func.trim(column)).order_by(func.count().desc(), func.trim(column))).all()
    by_lower: dict[str, str] = {}
    for name, _count in spellings:
        if name:
            by_lower.setdefault(name.lower(), name)
    found = difflib.get_close_matches(spec.value.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def _parse_all(specs: Iterable[str | AudienceSpec]) -> list[AudienceSpec]:
    parsed = list(dict.fromkeys(parse_audience(spec) for spec in specs))
    if not parsed:
        raise CampaignError("say who to invite: --audience all, district:NAME, ...")
    return parsed
