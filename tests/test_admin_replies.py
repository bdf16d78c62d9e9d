"""The "Replies not understood" page: only the state team sees it; replies grouped by their
words with counts, examples, what was read and why, newest group first, filtered by language
and campaign; teaching a phrase (refused when empty, already taught, or a done the reader
does not read back as done) and removing it, every form with its CSRF token."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from storage import phrases
from storage.learning import TaughtPhrase
from tests.admin_support import client_for, csrf, make_app
from tests.replies_support import build_replies


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def kept(db, tmp_path):
    return build_replies(db, tmp_path / "media")


def page(client, query: str = "") -> str:
    response = client.get(f"/admin/replies{query}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def groups_on(text: str) -> list[str]:
    """The groups' words, in the order the page shows them."""
    import re

    return re.findall(r'<strong class="words text">([^<]*)</strong>', text)


def teach(client, phrase: str, intent: str, language: str = "mr", **extra: str):
    return client.post("/admin/replies/teach", data={
        "csrf_token": csrf(client), "language": language, "phrase": phrase, "intent": intent,
        **extra})


def test_the_state_team_sees_replies_grouped_newest_first(app, kept):
    client = client_for(app, "state")
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/replies"' in home and "Replies not understood" in home
    text = page(client)
    assert groups_on(text) == ["zala nahi ajun", "kaam chalu hai par photo nahi gaya",
                               "ho gaya", "kal karto"]
    zala = text[text.index("zala nahi ajun"):text.index("kaam chalu hai par photo")]
    assert '<span class="count">3</span>' in zala
    assert "“zala nahi ajun”" in zala and "“Zala nahi ajun!”" in zala
    assert "Marathi (मराठी)" in zala and "not understood" in zala and "read as In progress" in zala
    kaam = text[text.index("kaam chalu hai par photo"):text.index('"words text">ho gaya')]
    assert '<span class="count">2</span>' in kaam
    assert "“Kaam chalu hai, par photo nahi gaya!”" in kaam and "Hindi (हिन्दी)" in kaam
    undone = text[text.index('"words text">ho gaya'):text.index('"words text">kal karto')]
    assert "undone</span> read as Done" in undone
    # Each group's form offers its language and the newest example as typed.
    assert 'value="Zala nahi ajun!"' not in text  # the newest is "zala nahi ajun"
    assert 'name="phrase" value="zala nahi ajun"' in text


def test_groups_filter_by_language_and_campaign(app, kept):
    client = client_for(app, "state")
    assert groups_on(page(client, "?language=hi")) == [
        "kaam chalu hai par photo nahi gaya", "ho gaya"]
    assert groups_on(page(client, f"?campaign={kept['second']}")) == ["kal karto"]
    first = kept["world"].campaign_id
    assert groups_on(page(client, f"?campaign={first}&language=mr")) == ["zala nahi ajun"]
    assert "No replies match these filters" in page(client, f"?campaign={first}&language=fr")
    # Nonsense is no filter, never a 500.
    for query in ("?language=xx", "?campaign=²", f"?campaign={'9' * 30}", "?page=²",
                  f"?page={'9' * 30}"):
        assert client.get(f"/admin/replies{query}").status_code == 200, query


@pytest.mark.parametrize("who", ["satara", "pune", "wai"])
def test_district_and_block_offices_neither_see_nor_reach_it(app, kept, who):
    client = client_for(app, who)
    assert "/admin/replies" not in client.get("/admin/").get_data(as_text=True)
    assert client.get("/admin/replies").status_code == 403
    assert teach(client, "zala nahi ajun", "in_progress").status_code == 403
    assert client.post("/admin/replies/taught/1/remove",
                       data={"csrf_token": csrf(client)}).status_code == 403
    assert client.post("/admin/replies/teach", data={"phrase": "x"}).status_code == 400


def test_every_post_needs_the_token_and_a_get_changes_nothing(app, db, kept):
    client = client_for(app, "state")
    response = client.post("/admin/replies/teach", data={
        "language": "mr", "phrase": "zala nahi ajun", "intent": "in_progress"})
    assert response.status_code == 400
    assert client.get("/admin/replies/teach?language=mr&phrase=x&intent=done").status_code == 405
    with db.sessions() as session:
        assert session.scalars(select(TaughtPhrase)).all() == []


def test_teaching_a_phrase_marks_its_group_and_lists_it(app, db, kept):
    client = client_for(app, "state")
    response = teach(client, "zala nahi ajun", "in_progress", filter_language="mr")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/replies?language=mr"
    text = page(client, "?language=mr")
    assert ("Taught: in Marathi (मराठी), “zala nahi ajun” means In progress. "
            "Kadam now reads it as In progress.") in text
    zala = text[text.index('"words text">zala nahi ajun'):text.index('"words text">kal karto')]
    assert "taught: In progress" in zala and 'name="phrase"' not in zala
    listed = text[text.index('id="taught"'):]
    assert "zala nahi ajun" in listed and "state@example.org" in listed
    with db.sessions() as session:
        (row,) = session.scalars(select(TaughtPhrase)).all()
        assert (row.language, row.phrase, row.normalised, row.intent, row.taught_by) == (
            "mr", "zala nahi ajun", "zala nahi ajun", "in_progress", "state@example.org")
        assert [(p.language, p.phrase) for p in phrases.taught(session)] == [
            ("mr", "zala nahi ajun")]


def test_what_the_reader_makes_of_a_taught_phrase_is_said(app, db, kept):
    """After saving, the page says what the reader now makes of the phrase, and warns when it
    is not what was taught (a reader that does not use taught phrases yet, or a rule of its
    that comes first)."""
    client = client_for(app, "state")
    teach(client, "shala band hoti", "later")  # the school was closed: ask again tomorrow
    with db.sessions() as session:
        read = phrases.intents.parse("shala band hoti", "mr", phrases.taught(session)).name
    text = page(client)
    assert ("Taught: in Marathi (मराठी), “shala band hoti” means Later (ask again tomorrow). "
            f"Kadam now reads it as {phrases.intent_label(read)}.") in text
    assert ("That is not what was taught" in text) == (read != "later")


def test_a_phrase_already_taught_or_empty_is_refused_with_a_reason(app, db, kept):
    client = client_for(app, "state")
    assert teach(client, "zala nahi ajun", "in_progress").status_code == 302
    response = teach(client, "ZALA nahi, ajun!!", "help", group="mr:zala nahi ajun")
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert ("“ZALA nahi, ajun!!” is already taught in Marathi (मराठी): In progress "
            "(as “zala nahi ajun”). Remove it first to teach it again.") in text
    for phrase, reason in (("", "Write the phrase to teach"),
                           ("  ... ", "Write the phrase to teach"),
                           ("x" * 300, "too long")):
        response = teach(client, phrase, "in_progress", language="hi", group="new")
        assert response.status_code == 422
        assert reason in response.get_data(as_text=True)
    response = teach(client, "kal karto", "", group="new")
    assert "Choose what the phrase means" in response.get_data(as_text=True)
    with db.sessions() as session:
        assert len(session.scalars(select(TaughtPhrase)).all()) == 1


def test_a_negation_taught_as_done_is_refused(app, db, kept):
    client = client_for(app, "state")
    response = teach(client, "kaam nahi hua", "done", language="hi", group="new")
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert "Not taught: even taught as done, Kadam reads “kaam nahi hua” as In progress" in text
    # The form keeps what was typed.
    assert 'name="phrase" value="kaam nahi hua"' in text
    with db.sessions() as session:
        assert session.scalars(select(TaughtPhrase)).all() == []


def test_removing_a_phrase_forgets_it_everywhere(app, db, kept):
    client = client_for(app, "state")
    teach(client, "kaam chalu hai par photo nahi gaya", "help", language="hi")
    with db.sessions() as session:
        phrase_id = session.scalars(select(TaughtPhrase.id)).one()
    url = f"/admin/replies/taught/{phrase_id}/remove"
    assert client.get(url).status_code == 405
    assert client.post(url, data={}).status_code == 400
    response = client.post(url, data={"csrf_token": csrf(client), "filter_language": "hi"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/replies?language=hi"
    text = page(client, "?language=hi")
    assert ("Removed “kaam chalu hai par photo nahi gaya” (Hindi (हिन्दी), Needs help)"
            in text)
    assert "taught: Needs help" not in text and "No phrase has been taught yet" in text
    with db.sessions() as session:
        assert phrases.taught(session) == ()
    assert client.post(url, data={"csrf_token": csrf(client)}).status_code == 404
    assert client.post(f"/admin/replies/taught/{'9' * 30}/remove",
                       data={"csrf_token": csrf(client)}).status_code == 404
