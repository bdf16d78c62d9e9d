"""How replies are understood: one table per language, each row (reply, intent, number).

The rows are the way headmasters really type: native script and romanised, typos one letter
off, capitals, stray spaces and punctuation, the words around, emoji, digits in any script, and
replies in another language than their own. The last tables hold what must NOT match.
"""

from __future__ import annotations

import pytest

from flows.intents import LEXICON, Name, parse

DONE, IN_PROGRESS, HELP, SKIP = Name.DONE, Name.IN_PROGRESS, Name.HELP, Name.SKIP
YES, NO, LATER, STATUS, TASKS = Name.YES, Name.NO, Name.LATER, Name.STATUS, Name.TASKS
MENU, STOP, START, LANGUAGE = Name.MENU, Name.STOP, Name.START, Name.LANGUAGE
ADD_TASK, UNKNOWN = Name.ADD_TASK, Name.UNKNOWN

Row = tuple[str, Name, int | None]


def rows(table: list[Row]) -> list:
    return [pytest.param(text, name, number, id=text) for text, name, number in table]


def check(text: str, language: str, name: Name, number: int | None) -> None:
    intent = parse(text, language)
    assert (intent.name, intent.number) == (name, number), (text, language, intent)


ENGLISH: list[Row] = [
    ("done", DONE, None),
    ("Done", DONE, None),
    ("  DONE!!! ", DONE, None),
    ("dnoe", DONE, None),  # a swapped pair
    ("donne", DONE, None),  # a letter typed twice
    ("compelted", DONE, None),
    ("finshed", DONE, None),
    ("task 3 done sir", DONE, 3),
    ("Task 3 is done sir", DONE, 3),
    ("task no. 3 done", DONE, 3),
    ("#3 done", DONE, 3),
    ("task3 completed", DONE, 3),
    ("sir 3 done", DONE, 3),
    ("Good morning sir, task 2 completed", DONE, 2),  # a greeting gives way
    ("class 3 painting done", DONE, None),  # a number inside the sentence is not the task's
    ("✅ done", DONE, None),
    ("done 👍", DONE, None),
    ("✔️", DONE, None),
    ("not done", IN_PROGRESS, None),
    ("not done yet", IN_PROGRESS, None),
    ("half done", IN_PROGRESS, None),
    ("In Progress", IN_PROGRESS, None),
    ("work in progress", IN_PROGRESS, None),
    ("need help, teachers are on election duty", HELP, None),
    ("help me", HELP, None),
    ("help", MENU, None),  # the bare word asks for the menu
    ("skip", SKIP, None),
    ("n/a", SKIP, None),
    ("yes", YES, None),
    ("YESSS", YES, None),
    ("ok sir", YES, None),
    ("👍", YES, None),
    ("🙏🙏", YES, None),
    ("👍🏽", YES, None),
    ("no problem", YES, None),
    ("Yes, let's start", YES, None),
    ("no", NO, None),
    ("not now", NO, None),
    ("ok, not now", NO, None),
    ("❌", NO, None),
    ("later", LATER, None),
    ("ok later", LATER, None),  # not "ok" = done
    ("will do it tomorrow", LATER, None),
    ("tommorow", LATER, None),
    ("ltaer", LATER, None),
    ("status", STATUS, None),
    ("stauts?", STATUS, None),
    ("tasks", TASKS, None),
    ("my tasks", TASKS, None),
    ("task", TASKS, None),
    ("menu", MENU, None),
    ("hello sir how are you", MENU, None),
    ("?", MENU, None),
    ("STOP", STOP, None),
    ("please stop messages", STOP, None),
    ("start", START, None),
    ("LANGUAGE?", LANGUAGE, None),
    ("change language", LANGUAGE, None),
    ("3", UNKNOWN, 3),
    ("3️⃣", UNKNOWN, 3),
    ("task 3", UNKNOWN, 3),
    ("no 3", UNKNOWN, 3),  # "no" before a number numbers the task
]

HINDI: list[Row] = [
    ("ho gaya", DONE, None),
    ("hogaya", DONE, None),
    ("ho gya", DONE, None),
    ("HO GAYA!!", DONE, None),
    ("हो गया", DONE, None),
    ("होगया", DONE, None),
    ("sir kaam 2 ho gaya hai", DONE, 2),
    ("task ३ ho gaya sir", DONE, 3),
    ("काम ३ हो गया", DONE, 3),
    ("kal ho gaya", DONE, None),  # done yesterday: the longer phrase beats "kal"
    ("haan ho gaya", DONE, None),
    ("namaste, kaam ho gaya", DONE, None),
    ("kaam chal raha hai", IN_PROGRESS, None),
    ("kaam ho raha hai", IN_PROGRESS, None),
    ("ho jayega sir", YES, None),  # "it will be done": a promise, so a task prompt asks back
    ("चल रहा है", IN_PROGRESS, None),
    ("abhi nahi hua", IN_PROGRESS, None),
    ("नहीं हुआ", IN_PROGRESS, None),
    ("shuru kar diya", IN_PROGRESS, None),
    ("madad chahiye", HELP, None),
    ("मदद चाहिए", HELP, None),
    ("dikkat hai", HELP, None),
    ("chhod do", SKIP, None),
    ("छोड़ दें", SKIP, None),
    ("छोड दें", SKIP, None),  # typed without the nukta
    ("haan ji", YES, None),
    ("हाँ", YES, None),
    ("हां", YES, None),  # anusvara for chandrabindu
    ("theek hai sir", YES, None),
    ("accha", YES, None),
    ("ji", YES, None),
    ("nahi", NO, None),
    ("अभी नहीं", NO, None),
    ("kal", LATER, None),
    ("बाद में", LATER, None),
    ("nahi, kal", LATER, None),  # "later" is what can be acted on
    ("haan, kal se shuru karenge", LATER, None),  # "from tomorrow": postponed, not done
    ("स्थिति", STATUS, None),
    ("kaam", TASKS, None),
    ("सूची", TASKS, None),
    ("namaste sir", MENU, None),
    ("kaise ho", MENU, None),
    ("band karo", STOP, None),
    ("बंद", STOP, None),
    ("shuru", START, None),
    ("फिर से शुरू", START, None),
    ("भाषा", LANGUAGE, None),
]

MARATHI: list[Row] = [
    ("zala", DONE, None),
    ("jhala", DONE, None),
    ("zhala", DONE, None),
    ("झाले", DONE, None),
    ("3 zala", DONE, 3),
    ("काम ३ झाले", DONE, 3),
    ("पूर्ण झाले", DONE, None),
    ("झाले ना", DONE, None),
    ("kal zala", DONE, None),  # done yesterday: DONE outweighs the time word
    ("zala nahi", IN_PROGRESS, None),
    ("झाले नाही", IN_PROGRESS, None),
    ("चालू आहे", IN_PROGRESS, None),
    ("suru aahe", IN_PROGRESS, None),  # although "suru" alone is START
    ("मदत हवी", HELP, None),
    ("वगळा", SKIP, None),
    ("होय", YES, None),
    ("हो", YES, None),  # yes in Marathi; "हो गया" is done in Hindi
    ("ho sir", YES, None),
    ("nako", NO, None),
    ("आता नाही", NO, None),
    ("udya", LATER, None),
    ("नंतर", LATER, None),
    ("स्थिती", STATUS, None),
    ("यादी", TASKS, None),
    ("नमस्कार", MENU, None),
    ("थांबा", UNKNOWN, None),  # "wait": never an unsubscribe (the STOP word is "बंद करा")
    ("पुन्हा सुरू", START, None),
    ("chalu kara", START, None),  # although "chalu" alone is IN_PROGRESS
    ("भाषा", LANGUAGE, None),
]

BENGALI: list[Row] = [
    ("hoye geche", DONE, None),
    ("হয়ে গেছে", DONE, None),
    ("hoyeche", DONE, None),
    ("কাজ ৩ হয়ে গেছে", DONE, 3),
    ("৩ হয়ে গেছে", DONE, 3),
    ("শেষ", DONE, None),
    ("এখনো হয়নি", IN_PROGRESS, None),
    ("হয়নি", IN_PROGRESS, None),
    ("cholche", IN_PROGRESS, None),
    ("সাহায্য চাই", HELP, None),
    ("বাদ দাও", SKIP, None),
    ("হ্যাঁ", YES, None),
    ("ঠিক আছে", YES, None),
    ("না", NO, None),
    ("পরে", LATER, None),
    ("kal", LATER, None),
    ("অবস্থা", STATUS, None),
    ("কাজের তালিকা", TASKS, None),
    ("নমস্কার", MENU, None),
    ("বন্ধ করো", STOP, None),
    ("আবার শুরু", START, None),
    ("ভাষা", LANGUAGE, None),
]

GUJARATI: list[Row] = [
    ("thai gayu", DONE, None),
    ("Thai Gayu sir", DONE, None),
    ("થઈ ગયું", DONE, None),
    ("થઇ ગયું", DONE, None),
    ("કામ ૩ થઈ ગયું", DONE, 3),
    ("૩ થઈ ગયું", DONE, 3),
    ("puru thayu", DONE, None),
    ("નથી થયું", IN_PROGRESS, None),
    ("ચાલુ છે", IN_PROGRESS, None),
    ("મદદ જોઈએ", HELP, None),
    ("છોડી દો", SKIP, None),
    ("હા", YES, None),
    ("barabar", YES, None),
    ("ના", NO, None),
    ("pachhi", LATER, None),
    ("કાલે", LATER, None),
    ("સ્થિતિ", STATUS, None),
    ("યાદી", TASKS, None),
    ("kem cho", MENU, None),
    ("બંધ કરો", STOP, None),
    ("શરૂ કરો", START, None),
    ("ભાષા", LANGUAGE, None),
]

KANNADA: list[Row] = [
    ("aaytu", DONE, None),
    ("aaythu", DONE, None),
    ("ಆಯಿತು", DONE, None),
    ("ಕೆಲಸ ೩ ಆಯಿತು", DONE, 3),
    ("೩ ಆಯ್ತು", DONE, 3),
    ("mugiyitu", DONE, None),
    ("innu aagilla", IN_PROGRESS, None),
    ("ಆಗಿಲ್ಲ", IN_PROGRESS, None),
    ("ಸಹಾಯ ಬೇಕು", HELP, None),
    ("ಬಿಡಿ", SKIP, None),
    ("ಹೌದು", YES, None),
    ("sari", YES, None),
    ("ಇಲ್ಲ", NO, None),
    ("ನಾಳೆ", LATER, None),
    ("amele", LATER, None),
    ("ಸ್ಥಿತಿ", STATUS, None),
    ("ಪಟ್ಟಿ", TASKS, None),
    ("ನಮಸ್ಕಾರ", MENU, None),
    ("ನಿಲ್ಲಿಸಿ", STOP, None),
    ("ಶುರು ಮಾಡಿ", START, None),
    ("ಭಾಷೆ", LANGUAGE, None),
]

TAMIL: list[Row] = [
    ("mudinthathu", DONE, None),
    ("mudichitten", DONE, None),
    ("Mudichiten sir", DONE, None),
    ("முடிந்தது", DONE, None),
    ("வேலை ௩ முடிந்தது", DONE, 3),
    ("௩ முடிஞ்சது", DONE, 3),
    ("innum mudiyala", IN_PROGRESS, None),
    ("இன்னும் இல்லை", IN_PROGRESS, None),  # although "இல்லை" alone is NO
    ("உதவி வேண்டும்", HELP, None),
    ("விட்டுவிடு", SKIP, None),
    ("ஆமாம்", YES, None),
    ("சரி", YES, None),
    ("இல்லை", NO, None),
    ("வேண்டாம்", NO, None),
    ("நாளை", LATER, None),
    ("apparam", LATER, None),
    ("நிலை", STATUS, None),
    ("பட்டியல்", TASKS, None),
    ("வணக்கம்", MENU, None),
    ("நிறுத்து", STOP, None),
    ("தொடங்கு", START, None),
    ("மொழி", LANGUAGE, None),
]

TELUGU: list[Row] = [
    ("aipoindi", DONE, None),
    ("ayipoyindi", DONE, None),
    ("అయిపోయింది", DONE, None),
    ("పని ౩ అయిపోయింది", DONE, 3),
    ("౩ అయింది", DONE, 3),
    ("inka kaledu", IN_PROGRESS, None),
    ("కాలేదు", IN_PROGRESS, None),
    ("సహాయం కావాలి", HELP, None),
    ("వదిలేయండి", SKIP, None),
    ("అవును", YES, None),
    ("sare", YES, None),
    ("లేదు", NO, None),
    ("రేపు", LATER, None),
    ("tarvata", LATER, None),
    ("పరిస్థితి", STATUS, None),
    ("జాబితా", TASKS, None),
    ("నమస్కారం", MENU, None),
    ("ఆపండి", STOP, None),
    ("మొదలు పెట్టు", START, None),
    ("భాష", LANGUAGE, None),
]

PUNJABI: list[Row] = [
    ("ho gaya", DONE, None),
    ("ho gya", DONE, None),
    ("ਹੋ ਗਿਆ", DONE, None),
    ("ਕੰਮ ੩ ਹੋ ਗਿਆ", DONE, 3),
    ("੩ ਹੋ ਗਿਆ ਜੀ", DONE, 3),
    ("ਨਹੀਂ ਹੋਇਆ", IN_PROGRESS, None),
    ("ਚੱਲ ਰਿਹਾ ਹੈ", IN_PROGRESS, None),
    ("ਮਦਦ ਚਾਹੀਦੀ ਹੈ", HELP, None),
    ("ਛੱਡ ਦਿਓ", SKIP, None),
    ("ਹਾਂ ਜੀ", YES, None),
    ("ਹਾਂ", YES, None),
    ("ਨਹੀਂ", NO, None),
    ("ਕੱਲ੍ਹ", LATER, None),
    ("ਬਾਅਦ ਵਿੱਚ", LATER, None),
    ("ਸਥਿਤੀ", STATUS, None),
    ("ਸੂਚੀ", TASKS, None),
    ("sat sri akal", MENU, None),
    ("ਬੰਦ ਕਰੋ", STOP, None),
    ("ਸ਼ੁਰੂ ਕਰੋ", START, None),
    ("ਭਾਸ਼ਾ", LANGUAGE, None),
]

ODIA: list[Row] = [
    ("hei gala", DONE, None),
    ("heigala", DONE, None),
    ("ହୋଇଗଲା", DONE, None),
    ("କାମ ୩ ହୋଇଗଲା", DONE, 3),
    ("୩ ହୋଇଗଲା", DONE, 3),
    ("ହୋଇନି", IN_PROGRESS, None),
    ("karuchi", IN_PROGRESS, None),
    ("ସାହାଯ୍ୟ ଦରକାର", HELP, None),
    ("ଛାଡନ୍ତୁ", SKIP, None),
    ("ହଁ", YES, None),
    ("ଠିକ୍ ଅଛି", YES, None),
    ("ନାହିଁ", NO, None),
    ("କାଲି", LATER, None),
    ("ପରେ", LATER, None),
    ("ସ୍ଥିତି", STATUS, None),
    ("ତାଲିକା", TASKS, None),
    ("ନମସ୍କାର", MENU, None),
    ("ବନ୍ଦ କରନ୍ତୁ", STOP, None),
    ("ଆରମ୍ଭ", START, None),
    ("ଭାଷା", LANGUAGE, None),
]

ASSAMESE: list[Row] = [
    ("hoi gol", DONE, None),
    ("হৈ গ'ল", DONE, None),
    ("হৈ গল", DONE, None),
    ("কাম ৩ হৈ গ'ল", DONE, 3),
    ("কৰিলোঁ", DONE, None),
    ("করিলোঁ", DONE, None),  # ৰ typed as র on a Bengali keyboard
    ("হোৱা নাই", IN_PROGRESS, None),  # although "নাই" alone is NO
    ("হোবা নাই", IN_PROGRESS, None),  # ৱ typed as ব
    ("সহায় লাগে", HELP, None),
    ("এৰি দিয়ক", SKIP, None),
    ("হয়", YES, None),
    ("বাৰু", YES, None),
    ("নহয়", NO, None),
    ("নাই", NO, None),
    ("কাইলৈ", LATER, None),
    ("অৱস্থা", STATUS, None),
    ("কামৰ তালিকা", TASKS, None),
    ("নমস্কাৰ", MENU, None),
    ("বন্ধ কৰক", STOP, None),
    ("আৰম্ভ", START, None),
    ("ভাষা", LANGUAGE, None),
]

KINYARWANDA: list[Row] = [
    ("byarangiye", DONE, None),
    ("Narangije!", DONE, None),
    ("umurimo 3 byarangiye", DONE, 3),
    ("biracyakorwa", IN_PROGRESS, None),
    ("nkeneye ubufasha", HELP, None),
    ("simbuka", SKIP, None),
    ("yego", YES, None),
    ("Yego 👍", YES, None),
    ("oya", NO, None),
    ("ejo", LATER, None),
    ("uko bihagaze", STATUS, None),
    ("imirimo", TASKS, None),
    ("muraho", MENU, None),
    ("hagarara", STOP, None),
    ("tangira", START, None),
    ("ururimi", LANGUAGE, None),
]

SWAHILI: list[Row] = [
    ("nimemaliza", DONE, None),
    ("imekamilika", DONE, None),
    ("kazi 3 imekamilika", DONE, 3),
    ("bado", IN_PROGRESS, None),
    ("inaendelea", IN_PROGRESS, None),
    ("ndiyo, bado", IN_PROGRESS, None),  # "yes" gives way to what is said after it
    ("nahitaji msaada", HELP, None),
    ("ruka", SKIP, None),
    ("ndiyo", YES, None),
    ("ndio", YES, None),
    ("sawa", YES, None),
    ("hapana", NO, None),
    ("kesho", LATER, None),
    ("baadaye", LATER, None),
    ("hali", STATUS, None),
    ("orodha", TASKS, None),
    ("habari", MENU, None),
    ("acha", STOP, None),
    ("anza", START, None),
    ("lugha", LANGUAGE, None),
]

FRENCH: list[Row] = [
    ("fini", DONE, None),
    ("terminé", DONE, None),
    ("termine", DONE, None),  # accents may be left out
    ("Terminée !", DONE, None),
    ("tâche 3 terminée", DONE, 3),
    ("c'est fait", DONE, None),
    ("en cours", IN_PROGRESS, None),
    ("pas encore", IN_PROGRESS, None),
    ("pas fini", IN_PROGRESS, None),
    ("besoin d'aide", HELP, None),
    ("aidez-moi", HELP, None),
    ("passer", SKIP, None),
    ("oui", YES, None),
    ("d'accord", YES, None),
    ("non", NO, None),
    ("pas maintenant", NO, None),
    ("plus tard", LATER, None),
    ("demain", LATER, None),
    ("statut", STATUS, None),
    ("état", STATUS, None),
    ("mes tâches", TASKS, None),
    ("bonjour", MENU, None),
    ("arrête", STOP, None),
    ("recommencer", START, None),
    ("langue", LANGUAGE, None),
]


@pytest.mark.parametrize(("text", "name", "number"), rows(ENGLISH))
def test_english(text, name, number):
    check(text, "en", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(HINDI))
def test_hindi(text, name, number):
    check(text, "hi", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(MARATHI))
def test_marathi(text, name, number):
    check(text, "mr", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(BENGALI))
def test_bengali(text, name, number):
    check(text, "bn", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(GUJARATI))
def test_gujarati(text, name, number):
    check(text, "gu", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(KANNADA))
def test_kannada(text, name, number):
    check(text, "kn", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(TAMIL))
def test_tamil(text, name, number):
    check(text, "ta", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(TELUGU))
def test_telugu(text, name, number):
    check(text, "te", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(PUNJABI))
def test_punjabi(text, name, number):
    check(text, "pa", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(ODIA))
def test_odia(text, name, number):
    check(text, "or", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(ASSAMESE))
def test_assamese(text, name, number):
    check(text, "as", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(KINYARWANDA))
def test_kinyarwanda(text, name, number):
    check(text, "rw", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(SWAHILI))
def test_swahili(text, name, number):
    check(text, "sw", name, number)


@pytest.mark.parametrize(("text", "name", "number"), rows(FRENCH))
def test_french(text, name, number):
    check(text, "fr", name, number)


# --- a reply in another language than the person's ----------------------------------------------

OTHER_LANGUAGE = [
    ("mr", "ho gaya", DONE),
    ("mr", "हो गया", DONE),
    ("mr", "done", DONE),
    ("hi", "zala", DONE),
    ("en", "झाले", DONE),
    ("bn", "ho gaya", DONE),
    ("gu", "হয়ে গেছে", DONE),
    ("kn", "ho gaya", DONE),
    ("ta", "ok", YES),
    ("te", "👍", YES),
    ("pa", "haan ji", YES),
    ("or", "yes", YES),
    ("as", "nahi", NO),
    ("sw", "yego", YES),
    ("rw", "ndiyo", YES),
    ("rw", "terminé", DONE),
    ("fr", "yes", YES),
    ("en", "oui", YES),
    ("en", "hapana", NO),
]


@pytest.mark.parametrize(("language", "text", "name"), OTHER_LANGUAGE,
                         ids=[f"{lang}:{text}" for lang, text, _ in OTHER_LANGUAGE])
def test_a_reply_in_another_language(language, text, name):
    assert parse(text, language).name == name


# A word that means one thing in one language and another elsewhere: the person's language
# decides, then their region ("acha" is "ok" in Hindi, "stop" in Swahili).
TIES = [
    ("hi", "acha", YES),
    ("mr", "acha", YES),  # a Marathi headmaster most likely means the Hindi word
    ("en", "acha", YES),
    ("sw", "acha", STOP),
    ("sw-KE", "acha", STOP),
    ("rw", "acha", STOP),  # a neighbour's word before a far language's
    ("hi", "ruka", HELP),  # "stalled"
    ("sw", "ruka", SKIP),  # "jump over"
]


@pytest.mark.parametrize(("language", "text", "name"), TIES,
                         ids=[f"{lang}:{text}" for lang, text, _ in TIES])
def test_the_persons_language_breaks_ties(language, text, name):
    assert parse(text, language).name == name


# --- digits of every script ---------------------------------------------------------------------

DIGITS = {"Devanagari": "३", "Bengali/Assamese": "৩", "Gujarati": "૩", "Gurmukhi": "੩",
          "Odia": "୩", "Tamil": "௩", "Telugu": "౩", "Kannada": "೩", "fullwidth": "３"}


@pytest.mark.parametrize("digit", DIGITS.values(), ids=DIGITS.keys())
def test_digits_in_any_script(digit):
    intent = parse(digit, "hi")
    assert (intent.name, intent.number, intent.text) == (UNKNOWN, 3, digit)
    assert parse(f"task {digit} done", "hi").number == 3
    assert parse(f"{digit}{digit}", "hi").number == 33


# --- adding one's own task: the title is kept as typed --------------------------------------------

ADDS = [
    ("add: Clean the library", "Clean the library"),
    ("add:Clean the library", "Clean the library"),
    ("Add task - Invite the SMC chair", "Invite the SMC chair"),
    ("add Paint a story wall in class 3", "Paint a story wall in class 3"),
    ("please add: Clean the library", "Clean the library"),
    ("new task: Plant trees", "Plant trees"),
    ("add", ""),
    ("ADD:", ""),
    ("जोड़ें पुस्तकालय साफ़ करें", "पुस्तकालय साफ़ करें"),
    ("जोडें पुस्तकालय साफ़ करें", "पुस्तकालय साफ़ करें"),
    ("jodo: library saaf karo", "library saaf karo"),
    ("नया काम: रंगोली प्रतियोगिता", "रंगोली प्रतियोगिता"),
    ("जोडा ग्रंथालय स्वच्छ करा", "ग्रंथालय स्वच्छ करा"),
    ("যোগ করো লাইব্রেরি পরিষ্কার", "লাইব্রেরি পরিষ্কার"),
    ("ongeza Kusafisha maktaba", "Kusafisha maktaba"),
    ("ongeraho Gusukura isomero", "Gusukura isomero"),
    ("ajouter : Nettoyer la bibliothèque", "Nettoyer la bibliothèque"),
    ("➕ Clean the library", "Clean the library"),
]


@pytest.mark.parametrize(("text", "title"), ADDS, ids=[text for text, _ in ADDS])
def test_add_task_keeps_the_title_as_typed(text, title):
    intent = parse(text, "en")
    assert (intent.name, intent.text) == (ADD_TASK, title)


@pytest.mark.parametrize(("text", "name"), [
    ("address the parents", UNKNOWN),  # a word that starts like "add" is not "add"
    ("छोड़ो", SKIP),  # "skip", one letter from "जोड़ो" (add): add words match exactly
    ("i want to add a task", UNKNOWN),  # "add" opens the reply, or it is not an addition
])
def test_what_is_not_an_addition(text, name):
    assert parse(text, "hi").name == name


# --- what must not match ------------------------------------------------------------------------

NEGATIVES: list[Row] = [
    ("this", UNKNOWN, None),  # four letters: "thik" would need a changed letter
    ("what is this", UNKNOWN, None),
    ("asdfgh", UNKNOWN, None),
    ("🤷", UNKNOWN, None),
    ("sir", UNKNOWN, None),
    ("thanks", UNKNOWN, None),
    ("sorry, I was busy", UNKNOWN, None),
    ("Invite the SMC chair", UNKNOWN, None),
    ("late", UNKNOWN, None),  # not "later": under six letters a missing letter is no typo
    ("star", UNKNOWN, None),
    ("compete", UNKNOWN, None),  # one letter from "complete", but a word of its own
    ("yse", UNKNOWN, None),  # three letters match exactly or not at all
    ("not sure", UNKNOWN, None),  # not "sure"
    ("pata nahi", UNKNOWN, None),  # "don't know", not "no"
    ("kya hua", UNKNOWN, None),  # "what happened?", not "done"
    # STOP unsubscribes: it must be the whole reply, and spelt right
    ("non-stop", UNKNOWN, None),
    ("don't stop", UNKNOWN, None),
    ("bus stop", UNKNOWN, None),
    ("stop the work on task 2", UNKNOWN, 2),
    ("school band hai", UNKNOWN, None),
    ("stpo", UNKNOWN, None),
]


@pytest.mark.parametrize(("text", "name", "number"), rows(NEGATIVES))
def test_what_must_not_match(text, name, number):
    check(text, "hi", name, number)


# --- the tables keep their word ----------------------------------------------------------------


@pytest.mark.parametrize("language", LEXICON.keys())
def test_every_phrase_in_the_tables_means_its_intent(language):
    """Typed exactly as listed, in its own language, each phrase is understood as listed."""
    wrong = []
    for name, phrases in LEXICON[language].items():
        for phrase in phrases:
            intent = parse(phrase, "en" if language == "*" else language)
            if intent.name != name:
                wrong.append((phrase, name, intent.name))
    assert not wrong


def test_words_that_mean_different_things_are_the_known_ties():
    meanings: dict[str, set[Name]] = {}
    for table in LEXICON.values():
        for name, phrases in table.items():
            if name != ADD_TASK:
                for phrase in phrases:
                    meanings.setdefault(phrase.casefold(), set()).add(name)
    assert {p for p, names in meanings.items() if len(names) > 1} == {"acha", "ruka"}
