"""Numbers, dates and missing translations, the way each person reads them."""

from __future__ import annotations

import datetime as dt
import logging

from bot.language import i18n
from bot.language.i18n import Translator
from bot.language.messages import render

CAMPAIGN = {"title": {"en": "Retell the Tale"}, "schools": 150000, "started": 123456,
            "completed": 1200, "completed_this_week": [], "help": [], "silent": [],
            "task": None}


def test_large_numbers_use_indian_grouping_in_india():
    text = render("digest", {"name": "A", "area": "Satara", "campaigns": [CAMPAIGN]}, [],
                  "hi").text
    assert "1,50,000" in text and "1,23,456" in text
    assert "1,50,000" in render("digest", {"name": "A", "area": "Satara",
                                           "campaigns": [CAMPAIGN]}, [], "en").text


def test_elsewhere_numbers_follow_the_default_region():
    """KADAM_DEFAULT_REGION (Settings.default_region) decides the grouping, passed down."""
    params = {"name": "A", "area": "Gasabo", "campaigns": [CAMPAIGN]}
    text = render("digest", params, [], "en", region="RW").text
    assert "150,000" in text and "1,50,000" not in text


def test_small_numbers_still_choose_plural_forms():
    one = render("evidence.saved", {"position": 2, "title": {"en": "x"}, "count": 1}, [], "en")
    two = render("evidence.saved", {"position": 2, "title": {"en": "x"}, "count": 2}, [], "en")
    assert "1 file saved" in one.text and "2 files saved" in two.text


def test_dates_have_month_names_in_the_persons_language():
    params = {"title": {"en": "x"}, "position": 2, "date": dt.date(2026, 12, 3)}
    assert "December" in render("task.next_on", params, [], "en").text
    assert "दिसंबर" in render("task.next_on", params, [], "hi").text
    assert "डिसेंबर" in render("task.next_on", params, [], "mr").text


def test_a_missing_translation_falls_back_to_the_second_language_and_logs_once(
        caplog, monkeypatch):
    monkeypatch.setattr(i18n, "_warned", set())
    translator = Translator("zz", second_language="hi")  # a language with no catalog
    with caplog.at_level(logging.WARNING, logger="bot.language.i18n"):
        first = translator.gettext("Done")
        again = translator.gettext("Done")
    assert first == again == "हो गया"
    assert len([r for r in caplog.records if "no zz translation" in r.getMessage()]) == 1
    assert Translator("zz").gettext("Done") == "Done"  # then English
