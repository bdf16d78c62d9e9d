"""The learning loop's storage, on SQLite and PostgreSQL: replies kept with their language and
campaign (through the engine too), phrases taught and removed, and every process's parser
seeing a phrase taught elsewhere at its next message."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
import yaml
from sqlalchemy import event, select

from bot.config import Settings
from bot.engine.engine import Engine, Inbound
from flows import registry
from flows.headmaster import step as headmaster_step
from flows.intents import Name, TaughtPhrase, normalise
from storage import conversations as store
from storage import exports, phrases
from storage.campaigns import launch
from storage.db import Database
from storage.learning import UnreadReply
from storage.models import Person, Project
from tests.factories import make_beo, make_headmaster, make_school, make_template

NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
_sid = itertools.count(1)


@pytest.fixture
def headmasters(db):
    """A Marathi and a Hindi headmaster, each with a running project of one campaign, and the
    Marathi one also invited to a second campaign."""
    with db.transaction() as session:
        make_template(session, "clean-classrooms")
        make_template(session, "retell", title={"en": "Retell the Tale"})
        wai = make_school(session, "27310100101", name="ZP School Wai", district="Satara",
                          block="Wai")
        haveli = make_school(session, "27250100202", name="ZP School Wagholi",
                             district="Pune", block="Haveli")
        marathi = make_headmaster(session, wai, phone="+919822012345", name="Sunita Pawar",
                                  language="mr")
        hindi = make_headmaster(session, haveli, phone="+919822054321", name="Ramesh Yadav",
                                language="hi")
        ids = {"mr": marathi.id, "hi": hindi.id}
    start = (NOW - dt.timedelta(days=3)).date()
    first = launch(db, "clean-classrooms", ["all"], start, name="Clean classrooms",
                   now=NOW - dt.timedelta(days=3)).campaign_id
    second = launch(db, "retell", ["school:27310100101"], start, name="Retell the Tale",
                    now=NOW - dt.timedelta(days=1)).campaign_id
    with db.transaction() as session:
        for project in session.scalars(select(Project).where(Project.campaign_id == first)):
            project.status = "in_progress"
            project.last_reply_at = NOW - dt.timedelta(days=1)
        projects = {(p.headmaster_id, p.campaign_id): p.id
                    for p in session.scalars(select(Project))}
    return {"people": ids, "campaigns": (first, second), "projects": projects}


def keep(db, person_id, text, read="unknown", reason="not_understood", project_id=None,
         at=NOW):
    with db.transaction() as session:
        person = session.get(Person, person_id)
        row = phrases.keep(session, person, text, read, reason, project_id, None, at)
        session.flush()
        return row.id


def kept(db) -> list[UnreadReply]:
    with db.sessions() as session:
        return list(session.scalars(select(UnreadReply).order_by(UnreadReply.id)))


def test_a_reply_is_kept_in_its_senders_language_with_the_project_they_work_on(db, headmasters):
    first, second = headmasters["campaigns"]
    marathi = headmasters["people"]["mr"]
    keep(db, marathi, "Zala nahi ajun!!", read="in_progress")
    # Named: the invitation of the second campaign, say.
    invited = headmasters["projects"][(marathi, second)]
    keep(db, marathi, "nantar sangto", project_id=invited)
    running, named = kept(db)
    assert (running.language, running.text, running.normalised, running.read,
            running.reason) == ("mr", "Zala nahi ajun!!", "zala nahi ajun", "in_progress",
                                "not_understood")
    assert (running.campaign_id, running.project_id) == (
        first, headmasters["projects"][(marathi, first)])
    assert (named.campaign_id, named.project_id) == (second, invited)
    assert running.created_at == NOW


def test_an_officers_reply_is_kept_too_without_a_campaign(db, headmasters):
    with db.transaction() as session:
        officer_id = make_beo(session, district="Satara", block="Wai", language="mr").id
    keep(db, officer_id, "शाळांची यादी पाठवा")
    (row,) = kept(db)
    assert (row.person_id, row.language, row.campaign_id, row.project_id) == (
        officer_id, "mr", None, None)


def test_a_whole_whatsapp_message_is_kept_and_grouped_by_its_start(db, headmasters):
    long = "काम चालू है " * 400  # 4,800 characters of Devanagari: no index entry holds it
    keep(db, headmasters["people"]["hi"], long)
    (row,) = kept(db)
    assert row.text == long
    assert len(row.normalised) <= 255 and row.normalised.startswith("काम चालू है")


def test_groups_count_show_examples_and_put_the_latest_first(db, headmasters):
    marathi, hindi = headmasters["people"]["mr"], headmasters["people"]["hi"]
    first, second = headmasters["campaigns"]
    for minutes, text in ((1, "zala nahi ajun"), (5, "Zala nahi ajun!"), (9, "ZALA NAHI AJUN"),
                          (12, "zala nahi ajun")):
        keep(db, marathi, text, read="in_progress", at=NOW + dt.timedelta(minutes=minutes))
    keep(db, hindi, "kaam chalu hai par photo nahi gaya", at=NOW + dt.timedelta(minutes=20))
    keep(db, hindi, "ho gaya tha par galat task", read="done", reason="undone",
         at=NOW + dt.timedelta(minutes=3))
    keep(db, marathi, "zala nahi ajun", project_id=headmasters["projects"][(marathi, second)],
         at=NOW + dt.timedelta(minutes=2))
    with db.sessions() as session:
        page = phrases.groups(session)
    assert [(g.language, g.normalised, g.count) for g in page.groups] == [
        ("hi", "kaam chalu hai par photo nahi gaya", 1),
        ("mr", "zala nahi ajun", 5),
        ("hi", "ho gaya tha par galat task", 1),
    ]
    assert page.total == 3 and not page.has_next
    assert page.groups[1].examples == ["zala nahi ajun", "ZALA NAHI AJUN", "Zala nahi ajun!"]
    assert page.groups[1].reads == [("not_understood", "in_progress", 4),
                                    ("not_understood", "unknown", 1)]
    assert page.groups[2].reads == [("undone", "done", 1)]
    with db.sessions() as session:
        marathi_only = phrases.groups(session, language="mr")
        second_only = phrases.groups(session, campaign_id=second)
        first_hindi = phrases.groups(session, language="hi", campaign_id=first)
        paged = phrases.groups(session, page=2, per_page=2)
    assert [g.normalised for g in marathi_only.groups] == ["zala nahi ajun"]
    assert [(g.normalised, g.count) for g in second_only.groups] == [("zala nahi ajun", 1)]
    assert [g.normalised for g in first_hindi.groups] == [
        "kaam chalu hai par photo nahi gaya", "ho gaya tha par galat task"]
    assert [g.normalised for g in paged.groups] == ["ho gaya tha par galat task"]
    assert paged.total == 3


def test_teaching_refuses_what_it_cannot_or_must_not_store(db):
    with db.transaction() as session:
        row, read = phrases.teach(session, "mr", "  zala   nahi ajun ", "in_progress",
                                  "state@example.org", NOW)
        assert (row.phrase, row.normalised) == ("zala nahi ajun", "zala nahi ajun")
        assert read.name == Name.IN_PROGRESS
    refusals = [
        ("mr", "ZALA nahi, ajun!!", "help", r"already taught in Marathi \(मराठी\): In progress"),
        ("mr", "   ", "in_progress", "Write the phrase to teach"),
        ("mr", "...!!", "in_progress", "Write the phrase to teach"),
        ("mr", "kal karto", "", "Choose what the phrase means"),
        ("mr", "kal karto", "add_task", "is not something a headmaster's reply can mean"),
        ("xx", "kal karto", "later", "not a language Kadam speaks"),
        ("hi", "kaam " * 60, "in_progress", "too long"),
        # A negation taught as done: the reader still says in progress, so it is refused.
        ("hi", "kaam nahi hua", "done", "Kadam reads “kaam nahi hua” as In progress"),
    ]
    for language, phrase, intent, reason in refusals:
        with db.transaction() as session, pytest.raises(phrases.PhraseError, match=reason):
            phrases.teach(session, language, phrase, intent, "state@example.org", NOW)
    # The same words in another language are another phrase.
    with db.transaction() as session:
        phrases.teach(session, "hi", "zala nahi ajun", "in_progress", "state@example.org", NOW)
        assert [(p.language, p.phrase) for p in phrases.listed(session)] == [
            ("hi", "zala nahi ajun"), ("mr", "zala nahi ajun")]


def test_a_done_teaching_is_checked_with_the_new_phrase_included(db, monkeypatch):
    """The reader is given every taught phrase and the new one; a done it then reads as done
    is stored ("jhal", once the reader honours taught phrases)."""
    seen: list[tuple[TaughtPhrase, ...]] = []
    real = phrases.intents.parse

    def reader(text, language="en", taught=()):
        seen.append(taught)
        if any(normalise(t.phrase) == normalise(text) and t.language == language
               for t in taught):
            return real(text, language) if "nahi" in text else phrases.intents.Intent(
                next(t.intent for t in taught if normalise(t.phrase) == normalise(text)))
        return real(text, language)

    monkeypatch.setattr(phrases.intents, "parse", reader)
    with db.transaction() as session:
        phrases.teach(session, "mr", "kal karto", "later", "state@example.org", NOW)
        row, read = phrases.teach(session, "mr", "jhal", "done", "state@example.org", NOW)
    assert read.name == Name.DONE and row.intent == "done"
    assert seen[-1] == (TaughtPhrase("mr", "kal karto", Name.LATER),
                        TaughtPhrase("mr", "jhal", Name.DONE))
    with db.transaction() as session, pytest.raises(phrases.PhraseError, match="Not taught"):
        phrases.teach(session, "mr", "jhal nahi", "done", "state@example.org", NOW)


def test_a_phrase_taught_in_one_process_reaches_the_next_snapshot_in_another(db_url,
                                                                               headmasters):
    """Two processes: each its own engine and its own copy of the phrases. What one teaches
    or removes, the other's next snapshot has, without a restart."""
    web, worker = Database(db_url), Database(db_url)
    web_copy, worker_copy = phrases.TaughtCache(), phrases.TaughtCache()
    marathi = headmasters["people"]["mr"]
    try:
        with worker.sessions() as session:
            assert worker_copy.phrases(session) == ()
        with web.transaction() as session:
            taught, _ = phrases.teach(session, "mr", "zala nahi ajun", "in_progress",
                                      "state@example.org", NOW)
            taught_id = taught.id
            phrases.teach(session, "hi", "kaam chalu hai par photo nahi gaya", "help",
                          "state@example.org", NOW)
        with worker.sessions() as session:
            assert worker_copy.phrases(session) == (
                TaughtPhrase("hi", "kaam chalu hai par photo nahi gaya", Name.HELP),
                TaughtPhrase("mr", "zala nahi ajun", Name.IN_PROGRESS))
        with web.sessions() as session:
            assert len(web_copy.phrases(session)) == 2
        with web.transaction() as session:
            phrases.remove(session, taught_id, NOW)
            # Removed and another taught at once: the count and the largest id may be as
            # before; the stamp is not.
            phrases.teach(session, "mr", "kam chalu aahe", "in_progress", "state@example.org",
                          NOW)
        with worker.sessions() as session:
            assert [(p.language, p.phrase) for p in worker_copy.phrases(session)] == [
                ("hi", "kaam chalu hai par photo nahi gaya"), ("mr", "kam chalu aahe")]
        # And through the module's own copy, as the engine reads it: the snapshot has them.
        with worker.sessions() as session:
            person = session.get(Person, marathi)
            snapshot = store.snapshot(session, person, NOW.date(), NOW)
        assert ("mr", "kam chalu aahe", Name.IN_PROGRESS) in [
            (p.language, p.phrase, p.intent) for p in snapshot.taught]
    finally:
        web.dispose()
        worker.dispose()


def test_an_unchanged_table_costs_one_small_query_and_no_reload(db):
    with db.transaction() as session:
        phrases.teach(session, "mr", "zala nahi ajun", "in_progress", "state@example.org", NOW)
    copy = phrases.TaughtCache()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with db.sessions() as session:
        first = copy.phrases(session)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            again = copy.phrases(session)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert again is first
    assert len(statements) == 1 and "change_stamp" in statements[0]


def test_the_phrase_file_is_the_shipped_format_and_loads_back(db):
    taught = [("mr", "zala nahi ajun", "in_progress"), ("hi", "kaam chalu hai", "in_progress"),
              ("hi", "haan bilkul", "yes"), ("hi", "nahi chahiye", "no"),
              ("mr", "jhala: sir", "help"), ("fr", "c'est fait", "done")]
    with db.transaction() as session:
        for language, phrase, intent in taught:
            phrases.teach(session, language, phrase, intent, "state@example.org", NOW)
        text = phrases.phrase_file(phrases.listed(session))
    assert "  intents:\n    in_progress:\n      - kaam chalu hai\n" in text
    assert "    'yes':\n" in text and "    'no':\n" in text
    loaded = yaml.safe_load(text)
    assert loaded == {
        "fr": {"intents": {"done": ["c'est fait"]}},
        "hi": {"intents": {"in_progress": ["kaam chalu hai"], "no": ["nahi chahiye"],
                           "yes": ["haan bilkul"]}},
        "mr": {"intents": {"help": ["jhala: sir"], "in_progress": ["zala nahi ajun"]}},
    }
    assert list(loaded) == sorted(loaded)


# --- through the engine -----------------------------------------------------------------------


def say(engine, phone, text, minutes=0):
    """The headmaster writes, `minutes` after NOW."""
    return engine.receive(Inbound(sid=f"SM{next(_sid):032d}", phone=phone, channel="whatsapp",
                                  body=text), now=NOW + dt.timedelta(minutes=minutes))


@pytest.fixture
def flow_that_keeps(monkeypatch):
    """The headmaster's flow, recording the taught phrases each step was given."""
    given: list[tuple[TaughtPhrase, ...]] = []

    def step(snapshot, state, event, now):  # type: ignore[no-untyped-def]
        given.append(snapshot.taught)
        return headmaster_step(snapshot, state, event, now)

    monkeypatch.setitem(registry.FLOWS, "headmaster",
                        dataclasses.replace(registry.HEADMASTER, step=step))
    return given


def test_a_reply_not_understood_lands_as_a_row_in_the_senders_language(db, headmasters,
                                                                       flow_that_keeps):
    engine = Engine(db, Settings(database_url=db.url))
    first, _ = headmasters["campaigns"]
    outcome = say(engine, "+919822054321", "bachche exam me busy hai")
    (row,) = kept(db)
    assert (row.language, row.text, row.normalised, row.read, row.reason) == (
        "hi", "bachche exam me busy hai", "bachche exam me busy hai", "unknown",
        "not_understood")
    assert row.inbound_id == outcome.inbound_id
    assert (row.campaign_id, row.project_id) == (
        first, headmasters["projects"][(headmasters["people"]["hi"], first)])
    say(engine, "+919822054321", "ho gaya", minutes=1)  # understood: nothing more is kept
    assert len(kept(db)) == 1


def test_the_engine_hands_the_flow_what_another_process_taught_a_moment_ago(
        db_url, headmasters, flow_that_keeps):
    web, worker = Database(db_url), Database(db_url)
    try:
        engine = Engine(worker, Settings(database_url=db_url))
        say(engine, "+919822012345", "status")
        assert flow_that_keeps[-1] == ()
        with web.transaction() as session:
            phrases.teach(session, "mr", "zala nahi ajun", "in_progress", "state@example.org",
                          NOW)
        say(engine, "+919822012345", "zala nahi ajun", minutes=1)
        assert flow_that_keeps[-1] == (TaughtPhrase("mr", "zala nahi ajun", Name.IN_PROGRESS),)
        # The clock's batches too.
        with worker.sessions() as session:
            people = list(session.scalars(select(Person).order_by(Person.id)))
            snapshots = store.snapshots(session, people, {p.id: NOW.date() for p in people},
                                        NOW + dt.timedelta(minutes=2))
        assert len(snapshots) == 2  # both headmasters
        assert all(s.taught == flow_that_keeps[-1] for s in snapshots.values())
    finally:
        web.dispose()
        worker.dispose()


def test_an_undone_done_is_undone_in_the_export_and_kept_for_the_state_team(db, headmasters):
    """A headmaster marks a task done by mistake and takes it back: the export a district
    officer downloads shows the task as it is now, and the state team sees the undone reply."""
    engine = Engine(db, Settings(database_url=db.url))
    first, _ = headmasters["campaigns"]

    def statuses() -> list[str]:
        with db.sessions() as session:
            column = exports.TASK_COLUMNS.index("status")
            return [row[column] for row in exports.task_rows(session, first)
                    if row[exports.TASK_COLUMNS.index("school_code")] == "27250100202"]

    say(engine, "+919822054321", "kaam 1 ho gaya")
    assert statuses()[0] == "completed"
    say(engine, "+919822054321", "galti se ho gaya likh diya", minutes=1)
    assert statuses()[0] == "not_started"
    [row] = [r for r in kept(db) if r.reason == "undone"]
    assert (row.text, row.read, row.language) == ("kaam 1 ho gaya", "completed", "hi")
