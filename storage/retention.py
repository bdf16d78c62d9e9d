"""How long personal data lives: the daily purge behind KADAM_RETENTION_DAYS.

A campaign has ended when none of its projects is running (each was completed, lapsed, or never
accepted) and the day of its last task has passed. It ended at the latest of: the end of that
day (a task moved by "later" counts where it was moved to), its start date plus the template's
duration, and the last thing that happened on any of its projects (invited, invitation sent
again, deferred, started, completed, lapsed, a reply). A lapsed project picked up again makes
its campaign run again, and end later.

KADAM_RETENTION_DAYS after a campaign ended, the purge removes what people wrote and sent in it:
the text of messages in and out (bodies, button payloads, media URLs, a message's parameters),
its photos and other files (deleted from MEDIA_DIR), the remarks and notes on its tasks, its
stories, and the replies the learning loop kept. A message about no project (an officer's
digest, a reply to "status", a circular) goes KADAM_RETENTION_DAYS after it was sent or
received, unless its person was then in a campaign still kept. Messages of numbers not in the
roster lose their text and their number after UNKNOWN_NUMBER_DAYS; failed dashboard sign-ins
go after a day.

Every row stays, with its personal columns emptied: how many messages, their statuses and
delivery figures, task statuses and dates, evidence counts. The dashboard and the exports
count as before. Purged evidence keeps its row as "purged" (counted, never shown).

Bulk work is set-based: a campaign's rows go in a few statements per batch of projects; messages
about no project are swept by age from where the last run stopped (PurgeRun).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from storage.db import Database, among
from storage.learning import UnreadReply
from storage.media_store import MediaStore
from storage.models import (
    EVIDENCE_PURGED,
    FILES_TO_REMOVE,
    PROJECT_IN_PROGRESS,
    PROJECT_STARTED,
    Broadcast,
    Campaign,
    Conversation,
    Evidence,
    InboundMessage,
    LoginAttempt,
    Outbox,
    Project,
    PurgeRun,
    Task,
    TaskEvent,
    Template,
)

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 365
UNKNOWN_NUMBER_DAYS = 30
PURGE_TIME = dt.time(2, 0)  # local time (KADAM_TIMEZONE): the night, when little else runs
RUNNING = (PROJECT_STARTED, PROJECT_IN_PROGRESS)
# An outbound message still to be sent keeps what it needs to be sent.
UNSENT = ("queued", "sending")
FILE_BATCH = 500
PROJECT_BATCH = 5000  # projects purged in one transaction
SWEEP_SLICE = dt.timedelta(days=30)  # time swept in one transaction
SIGN_IN_DAYS = dt.timedelta(days=1)
# Conversation states whose context holds the message they asked about (flows/headmaster.py).
HOLDING_A_MESSAGE = ("which_project", "which_task")
# What an emptied outbound message's parameters become: no text can be rendered from them again
# (bot/worker/outbound.py shows the row as removed).
PURGED_PARAMS = {"_purged": True}


@dataclass
class PurgeReport:
    campaigns: int = 0  # campaigns whose data went in this run
    messages: int = 0  # messages in and out whose text went
    evidence: int = 0  # evidence rows purged
    replies: int = 0  # kept replies (the learning loop's) removed
    files: int = 0  # files deleted from MEDIA_DIR

    def __str__(self) -> str:
        return (f"campaigns {self.campaigns}, messages {self.messages}, "
                f"evidence {self.evidence}, kept replies {self.replies}, files {self.files}")


@dataclass(frozen=True)
class CampaignEnd:
    campaign_id: int
    ended_at: dt.datetime | None  # None: still running
    purged_through: dt.datetime | None


# --- when a campaign ended ----------------------------------------------------------------------


def campaign_ends(session: Session) -> list[CampaignEnd]:
    """Every campaign with when it ended (None while it runs), by id."""
    activity = session.execute(
        select(
            Project.campaign_id,
            func.sum(case((Project.status.in_(RUNNING), 1), else_=0)),
            *(func.max(column) for column in (
                Project.invited_at, Project.invitation_resent_at, Project.deferred_at,
                Project.started_at, Project.completed_at, Project.lapsed_at,
                Project.last_reply_at)),
        ).group_by(Project.campaign_id)
    ).all()
    by_campaign = {row[0]: row for row in activity}
    campaigns = session.execute(
        select(Campaign.id, Campaign.start_date, Campaign.created_at, Campaign.purged_through,
               Template.duration_days)
        .join(Template, Template.id == Campaign.template_id).order_by(Campaign.id)
    ).all()
    running = {campaign_id for campaign_id, row in by_campaign.items() if row[1]}
    # The last task's day only matters for campaigns with nothing running: read just theirs.
    quiet = [c.id for c in campaigns if c.id not in running]
    last_days: dict[int, dt.date | None] = {
        campaign_id: day for campaign_id, day in session.execute(
            select(Project.campaign_id, func.max(Task.due_on))
            .join(Task, Task.project_id == Project.id)
            .where(Project.campaign_id.in_(quiet)).group_by(Project.campaign_id))
    } if quiet else {}
    ends = []
    for c in campaigns:
        if c.id in running:
            ends.append(CampaignEnd(c.id, None, c.purged_through))
            continue
        planned = c.start_date + dt.timedelta(days=c.duration_days)
        last_day = max(last_days.get(c.id) or planned, planned)
        row = by_campaign.get(c.id)
        moments = [dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), dt.UTC),
                   c.created_at, *(row[2:] if row is not None else ())]
        ends.append(CampaignEnd(c.id, max(m for m in moments if m is not None),
                                c.purged_through))
    return ends


# --- the purge ----------------------------------------------------------------------------------


def purge_due(session: Session, now: dt.datetime, timezone: str) -> bool:
    """Whether the daily purge has not yet run since the latest PURGE_TIME (local) before now."""
    last = session.scalar(select(func.max(PurgeRun.ran_at)))
    if last is None:
        return True
    local = now.astimezone(ZoneInfo(timezone))
    mark = dt.datetime.combine(local.date(), PURGE_TIME, local.tzinfo)
    if mark > local:
        mark -= dt.timedelta(days=1)
    return last < mark


def purge(database: Database, now: dt.datetime, retention_days: int = DEFAULT_RETENTION_DAYS
          ) -> PurgeReport:
    """Removes the personal data whose time has come, as of `now`, and logs the run (PurgeRun).

    Work goes in short transactions (PROJECT_BATCH projects, SWEEP_SLICE of time), so a
    state's campaign never holds one long transaction; a run cut short is finished by the next
    (nothing already emptied is written again). Evidence files are left for `remove_files`."""
    cutoff = now - dt.timedelta(days=retention_days)
    unknown_cutoff = now - dt.timedelta(days=min(UNKNOWN_NUMBER_DAYS, retention_days))
    report = PurgeReport()
    with database.sessions() as session:
        last = session.execute(select(PurgeRun.cutoff, PurgeRun.unknown_cutoff)
                               .order_by(PurgeRun.id.desc()).limit(1)).first()
        ends = campaign_ends(session)
    kept = [e.campaign_id for e in ends if e.ended_at is None or e.ended_at >= cutoff]
    for end in ends:
        if end.ended_at is None or end.ended_at >= cutoff:
            continue
        if end.purged_through is not None and end.purged_through >= end.ended_at:
            continue  # purged already, and nothing happened since
        _purge_campaign(database, end.campaign_id, end.ended_at, cutoff, kept, report)
    for start, until in _slices(database, last.cutoff if last else None, cutoff):
        with database.transaction() as session:
            _sweep_roster(session, start, until, kept, report)
    for start, until in _slices(database, last.unknown_cutoff if last else None,
                                unknown_cutoff):
        with database.transaction() as session:
            _sweep_unknown(session, start, until, report)
    with database.transaction() as session:
        # Failed dashboard sign-ins (an address, a network address) only count for minutes.
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - SIGN_IN_DAYS))
        session.add(PurgeRun(
            ran_at=now, cutoff=max(cutoff, last.cutoff) if last else cutoff,
            unknown_cutoff=max(unknown_cutoff, last.unknown_cutoff) if last else unknown_cutoff,
            campaigns=report.campaigns, messages=report.messages, evidence=report.evidence,
            replies=report.replies))
    return report


def _slices(database: Database, since: dt.datetime | None, until: dt.datetime
            ) -> list[tuple[dt.datetime | None, dt.datetime]]:
    """[since, until) cut into SWEEP_SLICE pieces; without `since` (the first run), the first
    piece takes everything before the oldest message's first slice."""
    if since is not None and since >= until:
        return []
    start = since
    if start is None:
        with database.sessions() as session:
            oldest = [session.scalar(select(func.min(Outbox.created_at))),
                      session.scalar(select(func.min(InboundMessage.received_at)))]
        start = min((t for t in oldest if t is not None), default=until)
    edges: list[dt.datetime | None] = [since]
    while start + SWEEP_SLICE < until:
        start += SWEEP_SLICE
        edges.append(start)
    edges.append(until)
    return [(lo, hi) for lo, hi in zip(edges, edges[1:], strict=False) if hi is not None]


def _kept_for(person: Any, at: Any, kept: Sequence[int]) -> ColumnElement[bool]:
    """The row's person was then (at `at`) in a campaign whose data is still kept."""
    if not kept:
        return false()
    return exists().where(Project.headmaster_id == person, Project.campaign_id.in_(kept),
                          Campaign.id == Project.campaign_id, Campaign.created_at <= at)


def _purge_campaign(database: Database, campaign_id: int, ended_at: dt.datetime,
                    cutoff: dt.datetime, kept: Sequence[int], report: PurgeReport) -> None:
    with database.sessions() as session:
        ids = list(session.scalars(select(Project.id).where(Project.campaign_id == campaign_id)
                                   .order_by(Project.id)))
    for first in range(0, len(ids), PROJECT_BATCH):
        with database.transaction() as session:
            _purge_projects(session, ids[first:first + PROJECT_BATCH], cutoff, kept, report)
    with database.transaction() as session:
        report.replies += _delete_replies(session, UnreadReply.campaign_id == campaign_id)
        session.execute(update(Campaign).where(Campaign.id == campaign_id)
                        .values(purged_through=ended_at))
    report.campaigns += 1


def _purge_projects(session: Session, ids: Sequence[int], cutoff: dt.datetime,
                    kept: Sequence[int], report: PurgeReport) -> None:
    """One batch of an ended campaign's projects: their messages, files and words."""
    projects = select(Project.id).where(among(session, Project.id, ids))
    tasks = select(Task.id).where(among(session, Task.project_id, ids))
    headmasters = select(Project.headmaster_id).where(among(session, Project.id, ids))
    report.messages += clear_outbound(session, among(session, Outbox.project_id, ids))
    # Messages about no project, of the people this campaign kept until now.
    report.messages += clear_outbound(session, and_(
        Outbox.person_id.in_(headmasters), Outbox.project_id.is_(None),
        Outbox.created_at < cutoff, ~_kept_for(Outbox.person_id, Outbox.created_at, kept)))
    report.messages += clear_inbound(session, and_(
        InboundMessage.person_id.in_(headmasters), InboundMessage.received_at < cutoff,
        ~_kept_for(InboundMessage.person_id, InboundMessage.received_at, kept)))
    report.evidence += purge_evidence(session, Evidence.task_id.in_(tasks))
    clear_words(session, projects, tasks)


def _sweep_roster(session: Session, since: dt.datetime | None, cutoff: dt.datetime,
                  kept: Sequence[int], report: PurgeReport) -> None:
    """Messages about no project that came of age since the last run: gone, unless their
    person was then in a campaign still kept (that campaign's purge takes them later)."""

    def window(column: Any) -> ColumnElement[bool]:
        return and_(column < cutoff, column >= since) if since is not None else column < cutoff

    report.messages += clear_outbound(session, and_(
        Outbox.person_id.is_not(None), Outbox.project_id.is_(None), window(Outbox.created_at),
        ~_kept_for(Outbox.person_id, Outbox.created_at, kept)))
    report.messages += clear_inbound(session, and_(
        InboundMessage.person_id.is_not(None), window(InboundMessage.received_at),
        ~_kept_for(InboundMessage.person_id, InboundMessage.received_at, kept)))
    report.replies += _delete_replies(session, and_(
        UnreadReply.campaign_id.is_(None), window(UnreadReply.created_at),
        ~_kept_for(UnreadReply.person_id, UnreadReply.created_at, kept)))
    # A question left unanswered that long ("which project?") no longer holds the message
    # it was asked about.
    session.execute(update(Conversation).where(Conversation.state.in_(HOLDING_A_MESSAGE),
                                               window(Conversation.updated_at))
                    .values(state="idle", context={})
                    .execution_options(synchronize_session=False))
    # A celebration carries headmasters' stories to many others; it goes by its age.
    celebrations = select(Broadcast.id).where(Broadcast.kind == "celebration",
                                              window(Broadcast.send_at))
    report.messages += clear_outbound(session, Outbox.broadcast_id.in_(celebrations))
    session.execute(update(Broadcast).where(Broadcast.id.in_(celebrations))
                    .values(message={"stories": []}))


def _sweep_unknown(session: Session, since: dt.datetime | None, cutoff: dt.datetime,
                   report: PurgeReport) -> None:
    """Numbers not in the roster: their messages keep neither text nor number."""
    inbound = [InboundMessage.person_id.is_(None), InboundMessage.received_at < cutoff,
               InboundMessage.pending.is_(False)]
    outbound = [Outbox.person_id.is_(None), Outbox.created_at < cutoff]
    if since is not None:
        inbound.append(InboundMessage.received_at >= since)
        outbound.append(Outbox.created_at >= since)
    report.messages += clear_inbound(session, and_(*inbound), phone="")
    report.messages += clear_outbound(session, and_(*outbound), phone="", errors=True)


# --- what "cleared" means, for the purge and for erasure ----------------------------------------


def clear_inbound(session: Session, where: ColumnElement[bool], phone: str | None = None
                  ) -> int:
    """Empties the text, button payload and media URLs of the inbound messages `where` (and
    their number, given `phone`); returns how many rows."""
    values: dict[str, Any] = {"body": "", "button_payload": None, "media": []}
    left = [InboundMessage.body != "", InboundMessage.button_payload.is_not(None),
            cast(InboundMessage.media, Text) != "[]"]
    if phone is not None:
        values.update(phone=phone, pending=False)
        left.append(InboundMessage.phone != phone)
    result = session.execute(update(InboundMessage).where(where, or_(*left)).values(**values)
                             .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def clear_outbound(session: Session, where: ColumnElement[bool], phone: str | None = None,
                   errors: bool = False) -> int:
    """Empties the text, parameters and media URL of the sent outbound messages `where` (and
    their number and error text, as asked); returns how many rows. Status, form, SMS segments,
    error codes and times stay: the delivery figures."""
    values: dict[str, Any] = {"body": None, "params": PURGED_PARAMS, "media_url": None}
    left = [Outbox.body.is_not(None), Outbox.media_url.is_not(None),
            cast(Outbox.params, Text) != json.dumps(PURGED_PARAMS)]
    if phone is not None:
        values["phone"] = phone
        left.append(Outbox.phone != phone)
    if errors:
        values["error_message"] = None
        left.append(Outbox.error_message.is_not(None))
    result = session.execute(update(Outbox).where(where, Outbox.status.not_in(UNSENT), or_(*left))
                             .values(**values).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_evidence(session: Session, where: ColumnElement[bool]) -> int:
    """Evidence `where` loses its caption and media URL and becomes "purged" (a rejected one
    stays rejected); its file goes in `remove_files`. Returns how many rows were kept ones."""
    result = session.execute(
        update(Evidence).where(where, Evidence.status.not_in((EVIDENCE_PURGED, "rejected")))
        .values(status=EVIDENCE_PURGED, source_url=None, caption=None, next_attempt_at=None)
        .execution_options(synchronize_session=False))
    session.execute(update(Evidence).where(where, Evidence.status == "rejected",
                                           or_(Evidence.source_url.is_not(None),
                                               Evidence.caption.is_not(None)))
                    .values(source_url=None, caption=None)
                    .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# Notes Kadam writes itself ("3 day(s)" postponed, "undone") and a task's own title (kept on the
# task as its name) are not anybody's words to purge.
OWN_NOTES = or_(TaskEvent.status.in_(("postponed", "added")), TaskEvent.note == "undone")


def clear_words(session: Session, projects: Select[Any], tasks: Select[Any]) -> None:
    """Empties what people wrote on these projects' tasks: remarks, the notes they left with
    status changes and help requests, officers' replies, the projects' stories."""
    session.execute(update(Task).where(Task.id.in_(tasks), Task.remarks.is_not(None))
                    .values(remarks=None).execution_options(synchronize_session=False))
    session.execute(update(TaskEvent)
                    .where(TaskEvent.task_id.in_(tasks), TaskEvent.note.is_not(None), ~OWN_NOTES)
                    .values(note=None).execution_options(synchronize_session=False))
    session.execute(update(Project).where(Project.id.in_(projects), Project.story.is_not(None))
                    .values(story=None).execution_options(synchronize_session=False))


def _delete_replies(session: Session, where: ColumnElement[bool]) -> int:
    result = session.execute(delete(UnreadReply).where(where)
                             .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# --- files --------------------------------------------------------------------------------------


def remove_files(database: Database, store: MediaStore) -> int:
    """Deletes the files of purged and rejected evidence that no kept evidence names (a file is
    named by its content, so the same photo sent twice is one file), then forgets their paths.
    Returns how many files were deleted. Run after the purge's transaction has committed; a
    crash halfway leaves the rows marked, and the next run finishes the job."""
    deleted = 0
    while True:
        with database.sessions() as session:
            rows = session.execute(
                select(Evidence.id, Evidence.path).where(text(FILES_TO_REMOVE))
                .order_by(Evidence.id).limit(FILE_BATCH)
            ).all()
            if not rows:
                return deleted
            paths = {row.path for row in rows}
            needed = set(session.scalars(
                select(Evidence.path).where(Evidence.path.in_(paths),
                                            Evidence.status.in_(("stored", "pending")))))
        for path in sorted(paths - needed):
            if store.delete(path):
                deleted += 1
        with database.transaction() as session:
            session.execute(update(Evidence).where(Evidence.id.in_([row.id for row in rows]))
                            .values(path=None, sha256=None)
                            .execution_options(synchronize_session=False))


def purge_if_due(database: Database, store: MediaStore, now: dt.datetime, retention_days: int,
                 timezone: str) -> PurgeReport | None:
    """The clock's daily purge: runs it if it has not run since the latest PURGE_TIME, deletes
    the files it freed and downloads left half-written; None when it was not due."""
    with database.sessions() as session:
        if not purge_due(session, now, timezone):
            return None
    report = purge(database, now, retention_days)
    report.files = remove_files(database, store)
    store.remove_partials(now - dt.timedelta(days=1))
    log.info("purged personal data: %s", report)
    return report
