"""What a native reader flagged in the catalogs stays fixed (issue 11, "Copy")."""

from __future__ import annotations

import pytest

from bot.language.messages import OPTIONS, SIMPLE, render
from flows.intents import Name, parse

# (language, words a reader flagged, what replaced them somewhere in that language's messages)
FLAGGED = [
    ("hi", "चुप", "जवाब न देने वाले स्कूल"),
    ("hi", "7 दिन या ज़्यादा से", "7 या ज़्यादा दिनों से कोई जवाब नहीं"),
    ("mr", "आठवण करा", "आठवण करून द्या"),
    ("mr", "शांत शाळा", "प्रतिसाद न देणाऱ्या शाळा"),
    ("mr", "थांबा", "STOP (बंद करा)"),
    ("rw", "hagarara", "STOP (hagarika)"),
    ("fr", "On commence", "Voulez-vous commencer\u00a0?"),
]


def _everything_said(language: str) -> str:
    """Every catalog text a person can get in `language`, as rendered."""
    params = {"name": "Sunita Pawar", "title": "Retell the Tale", "officer": "Prakash More",
              "position": 3, "total": 7, "date": "2027-01-12", "count": 2, "code": "27310100101",
              "school": "ZP School Wai", "number": 9, "text": "-", "content_type": "video/3gpp",
              "limit_mb": 16, "done": 2, "percent": 50, "block": "Wai"}
    texts = [render(key, params, (), language).text for key in SIMPLE]
    texts.append(render("invitation", {**params, "objective": "", "weeks": 4,
                                       "tasks_total": 7}, list(OPTIONS), language).numbered())
    texts.append(render("digest", {"name": "Prakash More", "area": "Wai", "campaigns": [
        {"title": "Retell the Tale", "schools": 40, "started": 30, "completed": 5,
         "silent": ["ZP School Wai"]}]}, (), language).text)
    texts.append(render("digest.silent", {"schools": []}, (), language).text)
    return "\n".join(texts)


@pytest.mark.parametrize(("language", "flagged", "fixed"), FLAGGED)
def test_flagged_words_are_gone_and_the_fix_is_said(language, flagged, fixed):
    said = _everything_said(language)
    assert flagged not in said
    assert fixed in said


@pytest.mark.parametrize(("language", "stop_word"), [("mr", "बंद करा"), ("rw", "hagarika")])
def test_the_stop_word_a_catalog_teaches_stops_messages(language, stop_word):
    assert parse(stop_word, language).name == Name.STOP
