"""The learning loop's rows: replies Kadam did not understand (or that their sender undid),
kept with what was read; and the phrases the state team taught, which every process reads
into the parser at once (`taught`) and `kadam phrases export` writes as a phrase file.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import yaml
from sqlalchemy import Table, case, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from flows import intents
from flows.languages import LANGUAGES
from storage.learning import NORMALISED_LENGTH, ChangeStamp, TaughtPhrase, UnreadReply
from storage.models import (
    PROJECT_ACTIVE,
    PROJECT_IN_PROGRESS,
    PROJECT_LAPSED,
    PROJECT_STARTED,
    Campaign,
    Person,
    Project,
)

NOT_UNDERSTOOD = "not_understood"
UNDONE = "undone"
REASONS = (NOT_UNDERSTOOD, UNDONE)
# What a headmaster may be taught to say: the intents of their replies (not ADD_TASK, whose
# reply carries a title, nor SCHOOL and LANGUAGE, which carry a code or a name).
# Each with what it means, as the state team reads it.
INTENT_LABELS = {
    "done": "Done",
    "in_progress": "In progress",
    "help": "Needs help",
    "skip": "Skip the task",
    "yes": "Yes",
    "no": "No",
    "later": "Later (ask again tomorrow)",
    "pause": "Pause reminders",
    "stop": "Stop messages (unsubscribe)",
    "start": "Start messages again",
    "status": "Show progress (status)",
    "tasks": "List the tasks",
    "menu": "Menu",
    "details": "More details",
    "undo": "Undo the last change",
}
TEACHABLE = tuple(intents.Name(name) for name in INTENT_LABELS)
LANGUAGE_CODES = tuple(code for code, _ in LANGUAGES)
STAMP = "taught_phrase"  # the change_stamp row of the taught phrases
EXAMPLES = 3  # replies as typed, shown per group


class PhraseError(ValueError):
    """Why a phrase cannot be taught, in words for the page or the terminal."""


# --- replies kept ---------------------------------------------------------------------------


def keep(session: Session, person: Person, text: str, read: str, reason: str,
         project_id: int | None, inbound_id: int | None, now: dt.datetime) -> UnreadReply:
    """Keeps one reply with the person's language, and the campaign and project it was about:
    the one named, else the person's running project they last replied on (else their latest
    invited or lapsed one; an officer has none)."""
    project, campaign = _project_of(session, person.id, project_id)
    row = UnreadReply(person_id=person.id, inbound_id=inbound_id, language=person.language,
                      text=text, normalised=normalised(text), read=str(read)[:32],
                      reason=str(reason)[:16], campaign_id=campaign, project_id=project,
                      created_at=now)
    session.add(row)
    return row


def _project_of(session: Session, person_id: int, project_id: int | None
                ) -> tuple[int | None, int | None]:
    if project_id is not None:
        campaign = session.scalar(select(Project.campaign_id).where(Project.id == project_id))
        return (project_id, campaign) if campaign is not None else (None, None)
    running = case((Project.status.in_((PROJECT_STARTED, PROJECT_IN_PROGRESS)), 0), else_=1)
    found = session.execute(
        select(Project.id, Project.campaign_id)
        .where(Project.headmaster_id == person_id,
               Project.status.in_((*PROJECT_ACTIVE, PROJECT_LAPSED)))
        .order_by(running, Project.last_reply_at.is_(None), Project.last_reply_at.desc(),
                  Project.id.desc())
        .limit(1)
    ).first()
    return (found.id, found.campaign_id) if found else (None, None)


def intent_label(name: str) -> str:
    """'in_progress' -> 'In progress'; what the reader makes of a reply it does not know."""
    if name == intents.Name.UNKNOWN:
        return "nothing it knows"
    return INTENT_LABELS.get(name, name.replace("_", " "))


def normalised(text: str) -> str:
    """The parser's folded form of a reply, as stored and grouped (cut to fit an index)."""
    return intents.normalise(text)[:NORMALISED_LENGTH].strip()


# --- the page's groups ----------------------------------------------------------------------


@dataclass
class ReplyGroup:
    """Replies that fold to the same words, in one language."""

    language: str
    normalised: str
    count: int
    last_at: dt.datetime
    examples: list[str] = field(default_factory=list)  # as typed, the newest first
    reads: list[tuple[str, str, int]] = field(default_factory=list)  # (reason, read, count)
    taught: str | None = None  # the intent a taught phrase gives these words


@dataclass
class GroupPage:
    groups: list[ReplyGroup]
    total: int
    page: int
    has_next: bool


def groups(session: Session, language: str | None = None, campaign_id: int | None = None,
           page: int = 1, per_page: int = 30) -> GroupPage:
    """Kept replies grouped by language and folded words, the group heard from last first,
    with counts, a few examples as typed, what was read and why, and what is taught."""
    where = []
    if language:
        where.append(UnreadReply.language == language)
    if campaign_id is not None:
        where.append(UnreadReply.campaign_id == campaign_id)
    key = (UnreadReply.language, UnreadReply.normalised)
    last = func.max(UnreadReply.created_at).label("last")
    rows = session.execute(
        select(*key, func.count().label("n"), last).where(*where).group_by(*key)
        .order_by(last.desc(), *key).offset((page - 1) * per_page).limit(per_page + 1)
    ).all()
    total = session.scalar(select(func.count()).select_from(
        select(*key).where(*where).group_by(*key).subquery())) or 0
    shown = {(r.language, r.normalised): ReplyGroup(r.language, r.normalised, int(r.n), r.last)
             for r in rows[:per_page]}
    if shown:
        chosen = tuple_(*key).in_(list(shown))
        examples = session.execute(
            select(*key, UnreadReply.text, func.max(UnreadReply.created_at).label("at"))
            .where(chosen, *where).group_by(*key, UnreadReply.text)
            .order_by(func.max(UnreadReply.created_at).desc(), UnreadReply.text))
        for row in examples:
            group = shown[(row.language, row.normalised)]
            if len(group.examples) < EXAMPLES:
                group.examples.append(row.text)
        reads = session.execute(
            select(*key, UnreadReply.reason, UnreadReply.read, func.count().label("n"))
            .where(chosen, *where).group_by(*key, UnreadReply.reason, UnreadReply.read)
            .order_by(func.count().desc(), UnreadReply.reason, UnreadReply.read))
        for read in reads:
            shown[(read.language, read.normalised)].reads.append((read.reason, read.read,
                                                                  int(read.n)))
        for phrase in session.scalars(select(TaughtPhrase).where(
                tuple_(TaughtPhrase.language, TaughtPhrase.normalised).in_(list(shown)))):
            shown[(phrase.language, phrase.normalised)].taught = phrase.intent
    return GroupPage(list(shown.values()), int(total), page, len(rows) > per_page)


def campaigns(session: Session) -> list[tuple[int, str]]:
    """The campaigns to filter by, the newest first."""
    return [(int(i), name) for i, name in session.execute(
        select(Campaign.id, Campaign.name).order_by(Campaign.id.desc()))]


# --- taught phrases -------------------------------------------------------------------------


def teach(session: Session, language: str, phrase: str, intent: str, by: str,
          now: dt.datetime) -> tuple[TaughtPhrase, intents.Intent]:
    """Stores a phrase and returns it with what the parser now reads it as, given every
    taught phrase and this one. Refuses an empty phrase, one whose folded words are already
    taught in that language, and a "done" the parser still reads as something else (it holds
    a negation, say: "kam zala nahi" must never mark a task done)."""
    phrase = " ".join((phrase or "").split())
    if language not in LANGUAGE_CODES:
        raise PhraseError(f"{language!r} is not a language Kadam speaks.")
    if not intent:
        raise PhraseError("Choose what the phrase means.")
    if intent not in TEACHABLE:
        raise PhraseError(f"{intent!r} is not something a headmaster's reply can mean.")
    folded = intents.normalise(phrase)
    if not folded:
        raise PhraseError("Write the phrase to teach: it has no words Kadam reads.")
    if len(phrase) > NORMALISED_LENGTH or len(folded) > NORMALISED_LENGTH:
        raise PhraseError(f"The phrase is too long ({len(phrase)} characters; at most "
                          f"{NORMALISED_LENGTH}). Teach the few words that carry its meaning.")
    same = session.scalars(select(TaughtPhrase).where(
        TaughtPhrase.language == language, TaughtPhrase.normalised == folded)).first()
    if same is not None:
        raise PhraseError(f"“{phrase}” is already taught in {language_name(language)}: "
                          f"{intent_label(same.intent)} (as “{same.phrase}”). Remove it first "
                          "to teach it again.")
    taught_now = (*load(session), intents.TaughtPhrase(language, phrase, intents.Name(intent)))
    read = intents.parse(phrase, language, taught_now)
    if intent == intents.Name.DONE and read.name != intents.Name.DONE:
        raise PhraseError(f"Not taught: even taught as done, Kadam reads “{phrase}” as "
                          f"{intent_label(read.name)}. A reply that says “not” or “half” must "
                          "never mark a task done.")
    row = TaughtPhrase(language=language, phrase=phrase, normalised=folded, intent=intent,
                       taught_by=by, created_at=now)
    session.add(row)
    session.flush()
    _stamp(session, now)
    return row, read


def remove(session: Session, phrase_id: int, now: dt.datetime) -> TaughtPhrase | None:
    """Forgets a taught phrase (every process stops using it at its next message)."""
    row = session.get(TaughtPhrase, phrase_id)
    if row is not None:
        session.delete(row)
        session.flush()
        _stamp(session, now)
    return row


def listed(session: Session) -> list[TaughtPhrase]:
    """Every taught phrase, by language, then intent, then phrase."""
    return list(session.scalars(select(TaughtPhrase).order_by(
        TaughtPhrase.language, TaughtPhrase.intent, TaughtPhrase.normalised)))


def load(session: Session) -> tuple[intents.TaughtPhrase, ...]:
    """The taught phrases as the parser takes them, read now."""
    rows = session.execute(select(TaughtPhrase.language, TaughtPhrase.phrase,
                                  TaughtPhrase.intent)
                           .order_by(TaughtPhrase.language, TaughtPhrase.normalised))
    return tuple(intents.TaughtPhrase(language, phrase, intents.Name(intent))
                 for language, phrase, intent in rows)


def _stamp(session: Session, now: dt.datetime) -> None:
    """A new stamp for the taught phrases, in the transaction that changed them."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ChangeStamp).values(name=STAMP, stamp=uuid.uuid4().hex, changed_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"stamp": statement.excluded.stamp, "changed_at": statement.excluded.changed_at}))


# Core, not ORM: it runs on every message, and an ORM statement costs more Python than this
# primary-key read costs the database.
_STAMPS: Table = ChangeStamp.__table__  # type: ignore[assignment]
_STAMP_QUERY = select(_STAMPS.c.stamp).where(_STAMPS.c.name == STAMP)


class TaughtCache:
    """A process's copy of the taught phrases. Each call reads the stamp (one primary-key
    lookup) and reloads the phrases only when it changed: a phrase taught or removed in any
    process reaches the next message here, and an unchanged table costs one tiny query."""

    def __init__(self) -> None:
        # One tuple, replaced whole: threads (the worker's) read it without a lock.
        self._copy: tuple[str | None, tuple[intents.TaughtPhrase, ...]] = (None, ())

    def phrases(self, session: Session) -> tuple[intents.TaughtPhrase, ...]:
        stamp = session.execute(_STAMP_QUERY).scalar()
        if stamp is None:  # nothing was ever taught here
            return ()
        cached_stamp, cached = self._copy
        if stamp == cached_stamp:
            return cached
        # Read after the stamp: a change committed in between is reloaded next time.
        phrases = load(session)
        self._copy = (stamp, phrases)
        return phrases


_CACHE = TaughtCache()


def taught(session: Session) -> tuple[intents.TaughtPhrase, ...]:
    """The taught phrases for the parser, as of now, from this process's copy."""
    return _CACHE.phrases(session)


# --- the phrase file ------------------------------------------------------------------------


def phrase_file(rows: list[TaughtPhrase]) -> str:
    """Taught phrases in the shipped phrase files' format (flows/phrases/<language>.yaml):
    language, `intents:`, intent, its phrases; sorted, every language in one file."""
    by_language: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        by_language[row.language][row.intent].add(row.phrase)
    lines = ["# Phrases taught on Kadam's dashboard (kadam phrases export). Merge each",
             "# language's phrases into flows/phrases/<language>.yaml under the same intent,",
             "# then run `kadam i18n check`."]
    for language in sorted(by_language):
        lines += [f"{_scalar(language)}:", "  intents:"]
        for intent in sorted(by_language[language]):
            lines.append(f"    {_scalar(intent)}:")
            lines += [f"      - {_scalar(p)}" for p in sorted(by_language[language][intent])]
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """`text` as YAML writes it, quoted only where it must be ('yes', 'no', ': ' ...)."""
    dumped: str = yaml.safe_dump([text], allow_unicode=True, width=10_000)
    return dumped.removeprefix("- ").rstrip("\n")


def language_name(code: str) -> str:
    """'mr' -> 'Marathi (मराठी)'."""
    from babel import Locale, UnknownLocaleError

    native = dict(LANGUAGES).get(code, code)
    try:
        english = Locale.parse(code).get_display_name("en") or code
    except (ValueError, UnknownLocaleError):
        return native
    return english if english == native else f"{english} ({native})"
