"""Properties of the parser that no table of examples can cover, fuzzed with Hypothesis.

1. A done negated in its language's words is never read as done, wherever the negation stands
   and whatever else the reply says around it.
2. A number followed by a noun is a quantity: it never names a task.
3. Nothing a person types makes the parser fail, and it reads the same reply the same way.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.intents import LEXICON, Name, normalise, parse
from flows.phrasebook import shipped

TABLES = shipped()
LANGUAGES = sorted(language for language in TABLES if language != "*")


def _words(language: str, kind: str) -> list[str]:
    return list(TABLES[language]["words"].get(kind, ()))


def _done_phrases(language: str) -> list[str]:
    """Done phrases with no number in them (a number would make them name a task)."""
    return [p for p in LEXICON[language][Name.DONE]
            if not any(ch.isdigit() for ch in p) and normalise(p)]


# Words around a reply that say nothing of the task: politeness, emoji, and made-up words
# (a name, a place) that are in no table.
AROUND = st.lists(st.one_of(
    st.sampled_from(["sir", "ji", "madam", "please", "🙏", "👍", "!!", ",", "..."]),
    st.from_regex(r"\A[bcdfgjkmpqvxz]{2}[aeiou][bcdfgjkmpqvxz]{2}\Z"),
), max_size=3)


@st.composite
def negated_done(draw) -> tuple[str, str]:
    language = draw(st.sampled_from(LANGUAGES))
    done = draw(st.sampled_from(_done_phrases(language)))
    anywhere = _words(language, "negation")
    before = _words(language, "negation_before")
    after = _words(language, "negation_after")
    choices = [("anywhere", w) for w in anywhere] + [("before", w) for w in before] + [
        ("after", w) for w in after]
    where, negation = draw(st.sampled_from(choices))
    head, middle, tail = draw(AROUND), draw(AROUND), draw(AROUND)
    if where == "before" or (where == "anywhere" and draw(st.booleans())):
        parts = [*head, negation, done, *tail]
        if where == "anywhere":
            parts = [*head, negation, *middle, done, *tail]
    else:
        parts = [*head, done, negation, *tail] if where == "after" else [
            *head, done, *middle, negation, *tail]
    return language, " ".join(parts)


@settings(max_examples=600, deadline=None)
@given(negated_done())
def test_a_negated_done_is_never_read_as_done(case):
    language, reply = case
    assert parse(reply, language).name != Name.DONE, (language, reply)


QUANTITIES = ["bachon", "bacche", "children", "students", "teachers", "parents", "baje",
              "o'clock", "din", "days", "log", "mothers", "books", "ghante", "minutes", "mulanni",
              "makkalu", "watoto", "abana", "élèves"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LANGUAGES), st.integers(min_value=1, max_value=60),
       st.sampled_from(QUANTITIES), st.data())
def test_a_number_before_a_noun_never_names_a_task(language, count, noun, data):
    done = data.draw(st.sampled_from(_done_phrases(language)))
    reply = data.draw(st.sampled_from([f"{count} {noun} ke saath {done}",
                                       f"{done}, {count} {noun} aaye",
                                       f"{count} {noun} {done}"]))
    assert parse(reply, language).number is None, (language, reply)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from(LANGUAGES))
def test_any_text_is_read_and_read_the_same_way(text, language):
    first = parse(text, language)
    assert first.name in set(Name)
    assert parse(text, language) == first
    assert first.number is None or 0 < first.number < 1000
    assert first.days is None or 0 < first.days <= 90
