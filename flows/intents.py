"""Understanding replies the way people really type them.

`parse(text, language)` turns "task 3 ho gaya sir 👍" into Intent(DONE, number=3). It accepts
native script and romanised words, English in any language, digits in any script, emoji,
one-letter typos, case, stray punctuation and the words around. The person's language only
breaks ties: a Marathi headmaster may well answer in Hindi or English.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Name(StrEnum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    HELP = "help"
    SKIP = "skip"
    YES = "yes"
    NO = "no"
    LATER = "later"
    STATUS = "status"
    TASKS = "tasks"
    MENU = "menu"
    STOP = "stop"
    START = "start"
    LANGUAGE = "language"
    ADD_TASK = "add_task"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    name: Name
    number: int | None = None
    text: str = ""


# Phrases per intent. Multi-word phrases win over the single words inside them ("not now" is
# NO, "in progress" is not STATUS), so matching tries the longest phrase first.
PHRASES: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "done", "completed", "complete", "finished", "finish", "did it", "task done", "its done",
        "ho gaya", "hogaya", "ho gya", "hogya", "ho gayi", "ho gai", "kar liya", "karliya",
        "kar diya", "pura", "poora", "pura hua", "हो गया", "होगया", "हो गई", "हो गयी", "कर लिया",
        "पूरा", "पूरा हुआ", "पूर्ण", "zala", "jhala", "zhala", "zale", "jhale", "purna", "keli",
        "झाले", "झालं", "झाला", "पूर्ण झाले", "केले", "হয়ে গেছে", "হয়েছে", "সম্পন্ন", "thai gayu",
        "થઈ ગયું", "ಆಯಿತು", "முடிந்தது", "అయింది", "ho gaya ji", "byarangiye", "narangije",
        "nimemaliza", "imekamilika", "tayari", "fini", "terminé", "termine", "fait", "✅", "✔",
        "☑",
    ),
    Name.IN_PROGRESS: (
        "in progress", "progress going on", "ongoing", "working", "working on it", "doing",
        "started", "not yet", "not done", "not done yet", "chal raha", "chal raha hai",
        "chalu", "chalu hai", "kar rahe", "kar raha", "jari", "jaari", "abhi nahi hua",
        "चल रहा", "चल रहा है", "चालू", "जारी", "जारी है", "कर रहे हैं", "अभी नहीं हुआ", "chalu aahe",
        "suru aahe", "सुरू आहे", "चालू आहे", "करत आहे", "अजून नाही", "ajun nahi", "চলছে",
        "biracyakorwa", "ndacyakora", "inaendelea", "bado", "en cours", "⏳",
    ),
    Name.HELP: (
        "need help", "help me", "i need help", "support", "problem", "issue", "stuck",
        "madad", "madat", "madad chahiye", "sahayata", "sahayta", "samasya", "मदद", "मदद चाहिए",
        "सहायता", "समस्या", "मदत", "मदत हवी", "अडचण", "adchan", "সাহায্য", "ubufasha",
        "msaada", "nisaidie", "aide", "besoin d'aide", "🆘",
    ),
    Name.SKIP: (
        "skip", "skip it", "not applicable", "n/a", "chhod do", "chod do", "chhodo", "chodo",
        "छोड़ें", "छोड़ो", "छोड़ दो", "vagla", "vagala", "वगळा", "sauter", "ruka", "simbuka",
    ),
    Name.YES: (
        "yes", "y", "yeah", "yep", "ok", "okay", "k", "sure", "accept", "i accept", "agree",
        "haan", "han", "ha", "haa", "haanji", "ji", "ji haan", "theek", "thik", "thik hai",
        "theek hai", "chalega", "हाँ", "हां", "हा", "जी", "जी हाँ", "ठीक", "ठीक है", "ho", "hoy",
        "होय", "हो", "চলবে", "হ্যাঁ", "હા", "ಹೌದು", "ஆம்", "అవును", "ਹਾਂ", "ହଁ", "yego", "ndiyo",
        "sawa", "oui", "d'accord", "👍", "🙏", "👌", "🆗",
    ),
    Name.NO: (
        "no", "n", "nope", "not now", "not interested", "decline", "nahi", "nahin", "nai",
        "abhi nahi", "नहीं", "ना", "अभी नहीं", "nako", "naka", "नको", "आता नाही", "ata nahi",
        "না", "ના", "ಇಲ್ಲ", "இல்லை", "లేదు", "ਨਹੀਂ", "oya", "hapana", "non", "pas maintenant",
        "❌", "👎", "✖",
    ),
    Name.LATER: (
        "later", "tomorrow", "remind me later", "baad mein", "baad me", "kal", "kal karenge",
        "बाद में", "कल", "udya", "nantar", "उद्या", "नंतर", "ejo", "kesho", "baadaye", "demain",
        "plus tard",
    ),
    Name.STATUS: (
        "status", "my status", "progress", "report", "sthiti", "स्थिति", "प्रगति", "स्थिती",
        "प्रगती", "অবস্থা", "uko bihagaze", "hali", "statut",
    ),
    Name.TASKS: (
        "tasks", "task list", "list", "my tasks", "all tasks", "kaam", "kaam ki list", "suchi",
        "काम", "कार्य", "सूची", "कामों की सूची", "yaadi", "यादी", "कामे", "কাজ", "imirimo",
        "kazi", "tâches", "taches",
    ),
    Name.MENU: (
        "menu", "help", "options", "hi", "hello", "hey", "namaste", "namaskar", "नमस्ते",
        "नमस्कार", "मेनू", "?", "muraho", "habari", "bonjour", "aidez-moi",
    ),
    Name.STOP: (
        "stop", "unsubscribe", "stop all", "cancel", "band karo", "band", "बंद", "बंद करो",
        "thamba", "थांबा", "hagarara", "acha", "arrête", "arrete",
    ),
    Name.START: (
        "start", "unstop", "resume", "subscribe", "start again", "phir se shuru", "फिर से शुरू",
        "shuru", "शुरू", "suru", "सुरू",
        "punha suru", "पुन्हा सुरू", "tangira", "anza", "recommencer",
    ),
    Name.LANGUAGE: (
        "language", "change language", "bhasha", "bhasa", "भाषा", "ভাষা", "ભાષા", "ಭಾಷೆ",
        "மொழி", "భాష", "ਭਾਸ਼ਾ", "ଭାଷା", "ururimi", "lugha", "langue",
    ),
}

ADD_WORDS = ("add", "add task", "new task", "jodo", "naya kaam", "जोड़ें", "जोड़ो", "नया काम",
             "जोडा", "नवीन काम", "ongeraho", "ongeza", "ajouter")

# Words that introduce a task number ("task 3", "kaam 3", "#3").
TASK_WORDS = ("task", "tasks", "kaam", "kam", "no", "number", "#", "काम", "कार्य", "টাস্ক")

# Words that carry no meaning in a reply ("sir", "please") and are dropped before matching.
FILLER = {"sir", "madam", "mam", "maam", "ji", "please", "pls", "plz", "thanks", "thank",
          "you", "is", "the", "it", "has", "been", "i", "have", "we", "all", "सर", "जी",
          "धन्यवाद", "dhanyavad", "hai", "है", "आहे", "aahe", "my", "ne"}


def _fold(text: str) -> str:
    """Normalise width, case and digits in any script, and split emoji off words."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(str(unicodedata.digit(ch, 0)))
        elif unicodedata.category(ch) in ("So", "Sk"):
            out.append(f" {ch} ")
        elif ch in "\ufe0f\u200d":  # emoji variation selectors and joiners
            continue
        else:
            out.append(ch)
    return "".join(out)


_PUNCT = re.compile(r"[\s.,!;:'\"()\[\]{}<>*_~`|/\\-]+")


def _tokens(text: str) -> list[str]:
    folded = _fold(text).replace("#", " # ").replace("?", " ? ")
    return [t for t in _PUNCT.split(folded) if t]


def _close(word: str, keyword: str) -> bool:
    """Equal, or one edit apart for words long enough that a typo is not another word."""
    if word == keyword:
        return True
    if len(keyword) < 4 or abs(len(word) - len(keyword)) > 1:
        return False
    if len(keyword) == 4 and len(word) <= 4:
        # Four letters leave too little to tell a typo from another word ("this" is not
        # "thik"): only a swapped pair counts; a doubled letter ("donee") is handled below.
        return len(word) == 4 and sorted(word) == sorted(keyword) and _edits_within_one(
            word, keyword)
    return _edits_within_one(word, keyword)


def _edits_within_one(a: str, b: str) -> bool:
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) <= 1:
            return True
        i, j = diffs[0], diffs[1] if len(diffs) == 2 else -1
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]  # swapped pair
    if len(a) > len(b):
        a, b = b, a
    for i in range(len(b)):
        if a == b[:i] + b[i + 1 :]:
            return True
    return False


_TABLE: list[tuple[tuple[str, ...], Name]] = sorted(
    ((tuple(_tokens(p)), name) for name, phrases in PHRASES.items() for p in phrases),
    key=lambda entry: -len(entry[0]),
)
_ADD = sorted((tuple(_tokens(p)) for p in ADD_WORDS), key=lambda p: -len(p))


def _match_at(tokens: list[str], start: int, phrase: tuple[str, ...], exact: bool = False
              ) -> bool:
    if start + len(phrase) > len(tokens):
        return False
    if exact:
        return tuple(tokens[start : start + len(phrase)]) == phrase
    return all(_close(tokens[start + k], word) for k, word in enumerate(phrase))


def _find_intent(tokens: list[str]) -> Name | None:
    """The longest phrase found anywhere; earlier positions win among equal lengths."""
    best: tuple[int, int, Name] | None = None
    for phrase, name in _TABLE:
        if best is not None and len(phrase) < best[0]:
            break
        for start in range(len(tokens)):
            if _match_at(tokens, start, phrase):
                candidate = (len(phrase), -start, name)
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
                break
    return best[2] if best else None


def _number(tokens: list[str]) -> int | None:
    """A leading number ("3 done"), or one after a task word ("task 3 done")."""
    for i, token in enumerate(tokens):
        if token.isdigit():
            if i == 0 or tokens[i - 1] in TASK_WORDS:
                return int(token)
    return None


def parse(text: str, language: str = "en") -> Intent:
    """Understand one reply. `language` is the person's; replies in other languages work too."""
    raw = (text or "").strip()
    tokens = _tokens(raw)
    if not tokens:
        return Intent(Name.UNKNOWN)
    for phrase in _ADD:
        # Exact only: a typo-tolerant "जोड़ो" (add) would swallow "छोड़ो" (skip).
        if _match_at(tokens, 0, phrase, exact=True):
            rest = _after_words(raw, len(phrase))
            return Intent(Name.ADD_TASK, text=rest)
    number = _number(tokens)
    meaningful = [t for t in tokens if t not in FILLER and t not in TASK_WORDS and not t.isdigit()]
    name = _find_intent(meaningful) if meaningful else None
    if name is None and meaningful == [] and number is None:
        name = _find_intent(tokens)
    if name is None:
        return Intent(Name.UNKNOWN, number=number, text=raw)
    return Intent(name, number=number, text=raw)


def _after_words(raw: str, count: int) -> str:
    """The original text after its first `count` words, keeping the headmaster's own spelling."""
    parts = re.split(r"(\s+)", raw.strip())
    words = [p for p in parts if p and not p.isspace()]
    rest = " ".join(words[count:]).lstrip(":-–,. ")
    return rest.strip()
