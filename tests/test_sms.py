"""What SMS costs: encoding and segments, recorded on every SMS; prompts fit in 3 segments."""

from __future__ import annotations

import pytest
import yaml

from bot.cli.demo import TEMPLATES as SHIPPED_TEMPLATES
from bot.language.i18n import available_languages
from bot.language.messages import render
from bot.worker.sms import plain_for_sms, sms_cost

TEMPLATES = SHIPPED_TEMPLATES


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("Task 1 of 7: Meet your teachers", "GSM-7", 1),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("{" * 80, "GSM-7", 1),  # extension characters count twice
    ("{" * 81, "GSM-7", 2),
    ("काम 1: शिक्षकों से मिलें", "UCS-2", 1),
    ("क" * 70, "UCS-2", 1),
    ("क" * 71, "UCS-2", 2),
    ("क" * 201, "UCS-2", 3),
    ("क" * 202, "UCS-2", 4),
    ("Done 👍" + "a" * 63, "UCS-2", 1),  # the emoji takes two UTF-16 units: 70 in all
    ("Done 👍" + "a" * 64, "UCS-2", 2),
])
def test_encoding_and_segments(text, encoding, segments):
    cost = sms_cost(text)
    assert (cost.encoding, cost.segments) == (encoding, segments)


def _task_titles():
    for path in sorted(TEMPLATES.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for number, task in enumerate(document["tasks"], start=1):
            yield path.stem, number, len(document["tasks"]), task["title"]


PROMPTS = ("task.prompt", "task.reminder")
OPTIONS = ("option.done", "option.in_progress", "option.need_help", "option.skip")


@pytest.mark.parametrize("language", available_languages())
def test_every_task_prompt_fits_three_sms_segments_in_every_language(language):
    """The prompt as an SMS phone gets it (numbered options included, typographic quotes made
    plain), without the how-to and photo reminder, which the worker drops when they would not
    fit."""
    titles = list(_task_titles())
    assert len(titles) >= 20  # the four shipped templates' tasks
    for template, position, total, title in titles:
        for key in PROMPTS:
            text = render(key, {"position": position, "total": total, "title": title,
                                "photo": False, "project_title": title}, OPTIONS,
                          language).numbered()
            cost = sms_cost(plain_for_sms(text))
            assert cost.segments <= 3, (language, template, position, key, cost, text)


def test_plain_quotes_only_when_they_save_segments():
    kinyarwanda = "Turabibutsa umurimo 7, “Hold an event”. Bigeze he? " * 2
    assert sms_cost(kinyarwanda).encoding == "UCS-2"
    assert sms_cost(plain_for_sms(kinyarwanda)).encoding == "GSM-7"
    hindi = "काम 7, “कार्यक्रम करें”"
    assert plain_for_sms(hindi) == hindi  # still UCS-2 either way: left as written


def test_an_sms_prompt_records_its_cost_and_drops_the_how_to_when_too_long(db, tmp_path):
    from tests.test_worker import (
        TwilioStandin,
        add_person,
        queue,
        row,
        run,
        settings_for,
    )

    title = {"en": "Agree with teachers how parents can help",
             "hi": "शिक्षकों के साथ तय करें कि अभिभावक कैसे मदद करेंगे"}
    description = {"hi": "जैसे, अभिभावक घर पर बच्चे से कहानी सुन सकते हैं या खुद कोई कहानी "
                         "सुना सकते हैं। इसके लिए एक छोटी बैठक रखें और सबको बताएं।"}
    options = ("option.done", "option.in_progress", "option.need_help")
    with TwilioStandin() as twilio:
        pid = add_person(db, "+919800000021", channel="sms", language="hi")
        rid = queue(db, pid, "+919800000021", key="task.prompt", options=options,
                    params={"position": 2, "total": 7, "title": title,
                            "description": description, "photo": True, "project_title": title})
        run(db, settings_for(twilio, tmp_path))
        [request] = twilio.messages()
    body = request.form["Body"]
    assert "शिक्षकों के साथ तय करें" in body and "1. हो गया" in body
    assert "अभिभावक घर पर" not in body  # the how-to gave way
    assert "फ़ोटो भेजें" in body  # ...and the task still asks for its photo
    sent = row(db, rid)
    assert (sent.sms_encoding, sent.sms_segments) == ("UCS-2", sms_cost(body).segments)
    assert sent.sms_segments <= 3
