"""Understanding replies the way people really type them.

`parse(text, language)` turns "task 3 ho gaya sir 👍" into Intent(DONE, number=3). Every flow
uses it, so the rules live here and nowhere else.

The words. `LEXICON` holds, for each language the bot speaks, one tuple of phrases per intent,
in native script and in the romanised forms people type on phones ("हो गया", "ho gaya",
"hogaya"). Every table is searched whatever the person's language: a Marathi headmaster may
answer in Hindi or English. Phrases under `Name.UNKNOWN` are said but mean none of the intents
("not sure", "non-stop"): they hide the words inside them. Phrases under `Name.ADD_TASK` open
a reply that adds the headmaster's own task; the rest of the reply, as typed, is its title.

Folding, before anything is compared: Unicode compatibility forms, case, accents on Latin
letters (terminé = termine), nuktas, chandrabindu/anusvara and tippi/bindi variants, Assamese
ৰ/ৱ typed as র/ব, joiners and variation selectors, skin tones and keycaps (3️⃣ = 3), digits of
every script (३ ৩ ૩ ੩ ୩ ௩ ౩ ೩ = 3), and a letter held down ("yesss", "okkk"). Punctuation
separates words; "?" and "#" and each emoji are words of their own.

Matching.
1. ADD_TASK: an add phrase, exactly, at the start (after "sir", "please"...).
2. Every phrase is looked for anywhere in the reply. A word matches exactly or, in Latin script
   only, with one slip of the finger that keeps its first letter: for words of four or five
   letters a swapped pair ("dnoe", "ltaer") or a letter typed twice ("donne"); from six
   letters any one edit ("compelted", "finshed", "stauts"). Shorter words, and native
   scripts, match exactly: there a one-letter change is usually another word ("this" is not
   "thik", "late" is not "later", "star" is not "start").
3. Words of politeness and task numbering ("sir", "ji", "hai", "task", "kaam", "no 3") weigh
   nothing. A phrase made only of them ("ji", "kaam", "no") counts only when nothing else was
   said and no number was given.
4. Where matches overlap, the heavier (then longer) phrase wins: "not done" is IN_PROGRESS,
   "no problem" is YES, "chalu kara" is START although "chalu" alone is IN_PROGRESS.
5. Among what is left, greetings and "menu" give way to everything; then "start", "yes", "no"
   and "later", in that order, give way to each other and to all the rest: "hello, task 3
   done" is DONE, "yes, let's start" is YES, "ok, not now" is NO, "ok, later" and "nahi, kal"
   are LATER, "kal zala" (done yesterday) is DONE. Then the heavier phrase, the exact one, the
   earlier one wins.
6. STOP unsubscribes, so it must be deliberate: a STOP phrase, exactly, that is the whole reply
   apart from politeness ("STOP", "please stop messages", "बंद करो"). "don't stop", "stop the
   work on task 2" and "non-stop" are not STOP.
7. The person's language breaks genuine ties only: "acha" is YES in Hindi and STOP in Swahili.
   The order is their language, the languages of their region, English, then the rest.

Numbers: the reply's number is one that starts it (after politeness: "sir 3 done") or follows
a task word ("task 3", "kaam 2", "no. 3", "#3"). Numbers written as words are not read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


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
    PAUSE = "pause"
    DETAILS = "details"
    SCHOOL = "school"
    UNDO = "undo"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    name: Name
    number: int | None = None  # the task the reply names, never a quantity ("20 children")
    text: str = ""
    days: int | None = None  # how long, for PAUSE and LATER ("ek hafte", "2 weeks", "parso")
    code: str | None = None  # the school code, for SCHOOL


@dataclass(frozen=True)
class TaughtPhrase:
    """A phrase the state team taught Kadam ("in Marathi, 'kam zala nahi' means in progress")."""

    language: str
    phrase: str
    intent: Name


# --- the words, language by language ------------------------------------------------------------
# One tuple per intent. Name.UNKNOWN: phrases that mean none of the intents and hide the words
# inside them. Name.ADD_TASK: phrases that open "add my own task: ...".

ANY_LANGUAGE: dict[Name, tuple[str, ...]] = {
    Name.DONE: ("✅", "✔", "☑", "💯"),
    Name.IN_PROGRESS: ("⏳", "🔄"),
    Name.HELP: ("🆘",),
    Name.YES: ("👍", "🙏", "👌", "🆗"),
    Name.NO: ("❌", "👎", "✖", "🚫", "🙅"),
    Name.MENU: ("?", "❓", "❔", "👋"),
    Name.ADD_TASK: ("➕",),
}

ENGLISH: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "done", "completed", "complete", "finished", "finish", "did it", "task done", "its done",
        "all done", "work done", "already done", "done already", "accomplished", "achieved",
        "submitted", "report submitted", "solved", "resolved", "problem solved", "sent",
        "uploaded", "photo sent",
    ),
    Name.IN_PROGRESS: (
        "in progress", "in process", "under progress", "work in progress", "wip",
        "progress going on", "going on", "ongoing", "on going", "working", "working on it",
        "still working", "doing", "doing it", "started", "not yet", "not done", "not done yet",
        "not yet done", "not completed", "not complete", "not finished", "incomplete",
        "pending", "still pending", "half done", "partly done", "partially done", "almost done",
        "nearly done", "yet to complete", "yet to be done",
    ),
    Name.HELP: (
        "need help", "help me", "help needed", "need support", "support", "problem", "issue",
        "stuck", "difficulty", "facing problem", "not working", "sos",
    ),
    Name.SKIP: ("skip", "skip it", "skip this", "skipped", "not applicable", "n/a",
                "not relevant"),
    Name.YES: (
        "yes", "y", "yeah", "yea", "yep", "yup", "ya", "yes please", "ok", "okay", "okey", "okk",
        "oky", "okie", "k", "kk", "sure", "of course", "accept", "accepted", "i accept", "agree",
        "agreed", "alright", "all right", "fine", "go ahead", "interested", "definitely",
        "absolutely", "no problem", "no issue", "no issues", "will do",
    ),
    Name.NO: ("no", "n", "nope", "nah", "not now", "not interested", "decline", "no thanks",
              "not possible", "not ok", "not okay", "reject"),
    Name.LATER: (
        "later", "tomorrow", "tomorow", "tommorow", "tommorrow", "tmrw", "tmr",
        "remind me later", "remind later", "next week", "after some time", "some time later",
        "next day", "in a while",
    ),
    Name.STATUS: ("status", "my status", "progress", "my progress", "report", "progress report",
                  "summary", "how am i doing"),
    Name.TASKS: ("tasks", "task", "task list", "list", "my tasks", "all tasks", "show tasks",
                 "list tasks", "todo", "to do list", "checklist"),
    Name.MENU: (
        "menu", "help", "options", "main menu", "commands", "hi", "hii", "hello", "helo", "hey",
        "good morning", "good afternoon", "good evening", "gm",
    ),
    Name.STOP: ("stop", "stopall", "stop all", "unsubscribe", "cancel", "quit", "opt out",
                "optout", "stop messages", "stop sending", "stop sending messages"),
    Name.START: ("start", "unstop", "resume", "subscribe", "start again", "restart", "begin"),
    Name.LANGUAGE: ("language", "languages", "lang", "change language", "select language",
                    "another language"),
    Name.UNKNOWN: ("not sure", "no idea", "non stop", "not started", "not yet started",
                   "compete", "competed"),
    Name.ADD_TASK: ("add", "add task", "add a task", "add new task", "new task",
                    "create task"),
}

HINDI: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "ho gaya", "hogaya", "ho gya", "hogya", "ho gayi", "ho gai", "ho gyi", "hogai", "hogayi",
        "ho hi gaya", "ho chuka", "kar liya", "karliya", "kar diya", "kardiya", "kar liye",
        "kar diye", "kar chuke", "pura", "poora", "pura hua", "pura ho gaya", "poora ho gaya",
        "pura kiya", "sampann", "sampoorn", "sampurn", "khatam", "khatm", "samapt", "hua",
        "bhej diya", "bhej di",
        "हो गया", "होगया", "हो गई", "हो गयी", "हो गए", "हो गये", "हो चुका", "हो चुकी",
        "कर लिया", "कर दिया", "कर लिए", "कर दिए", "पूरा", "पूरा हुआ", "पूरा हो गया", "पूरा किया",
        "पूर्ण", "संपन्न", "सम्पन्न", "संपूर्ण", "सम्पूर्ण", "ख़त्म", "खत्म", "समाप्त", "हुआ",
        "भेज दिया", "भेज दी",
    ),
    Name.IN_PROGRESS: (
        "chal raha", "chal rahi", "chal rha", "chalu", "kar rahe", "kar raha", "kar rahi",
        "jari", "jaari", "abhi nahi hua", "nahi hua", "nahi hui", "hua nahi", "baki", "baaki",
        "adhura", "adhoora", "time lagega", "samay lagega", "shuru kar diya", "shuru ho gaya",
        "shuru kiya", "ho raha", "ho rahi", "ho jayega", "ho jaega", "ho jaayega", "ho jayegi",
        "nahi ho paya", "nahi ho saka",
        "चल रहा", "चल रही", "चालू", "जारी", "कर रहे", "कर रहा", "कर रही", "अभी नहीं हुआ",
        "नहीं हुआ", "नहीं हुई", "हुआ नहीं", "बाकी", "बाक़ी", "अधूरा", "शुरू कर दिया",
        "शुरू हो गया", "प्रगति पर", "प्रगति में", "समय लगेगा", "हो रहा", "हो रही", "हो जाएगा",
        "हो जायेगा", "हो जाएगी", "नहीं हो पाया",
    ),
    Name.HELP: (
        "madad", "madad chahiye", "madad karo", "help chahiye", "help karo", "sahayata",
        "sahayta", "samasya", "dikkat", "pareshani", "mushkil", "ruka hua", "ruka",
        "मदद", "मदद चाहिए", "मदद करें", "सहायता", "सहायता चाहिए", "समस्या", "दिक्कत", "परेशानी",
        "मुश्किल", "कठिनाई", "रुका हुआ",
    ),
    Name.SKIP: (
        "chhod do", "chod do", "chhodo", "chodo", "chhod dein", "chhod den", "chod den",
        "chhodiye", "rehne do", "jane do",
        "छोड़ें", "छोड़ो", "छोड़ दो", "छोड़ दें", "छोड़िए", "रहने दो", "जाने दो", "लागू नहीं",
    ),
    Name.YES: (
        "haan", "han", "ha", "haa", "haanji", "hanji", "ji haan", "ji", "theek", "thik",
        "thik hai", "theek hai", "chalega", "achha", "accha", "acha", "acchha", "bilkul",
        "zaroor", "jarur", "jaroor", "sahi", "manzoor", "chalo", "koi baat nahi",
        "koi problem nahi", "koi dikkat nahi",
        "हाँ", "हां", "हा", "जी", "जी हाँ", "ठीक", "ठीक है", "चलेगा", "अच्छा", "बिल्कुल", "बिलकुल",
        "ज़रूर", "जरूर", "सही", "स्वीकार", "मंज़ूर", "कोई बात नहीं",
    ),
    Name.NO: (
        "nahi", "nahin", "nai", "nhi", "na", "abhi nahi", "nahi chahiye", "mana",
        "नहीं", "नही", "ना", "अभी नहीं", "नहीं चाहिए", "मना",
    ),
    Name.LATER: (
        "baad mein", "baad me", "bad me", "baad main", "baadme", "kal", "kal karenge",
        "kal karunga", "kal tak", "thodi der baad", "thodi der mein", "agle hafte",
        "phir kabhi", "fir kabhi",
        "बाद में", "कल", "कल करेंगे", "कल तक", "थोड़ी देर में", "थोड़ी देर बाद", "अगले हफ्ते",
        "अगले सप्ताह", "फिर कभी",
    ),
    Name.STATUS: (
        "sthiti", "stithi", "pragati", "haal", "kitna hua", "sthiti batao",
        "स्थिति", "प्रगति", "हाल", "कितना हुआ", "रिपोर्ट",
    ),
    Name.TASKS: (
        "kaam", "kaam ki list", "kaam ki suchi", "suchi", "soochi", "kaamon ki list",
        "sabhi kaam", "mere kaam", "kaam dikhao", "karya",
        "काम", "कार्य", "सूची", "कामों की सूची", "काम की सूची", "सभी काम", "मेरे काम", "कार्य सूची",
    ),
    Name.MENU: (
        "namaste", "namaskar", "namastey", "kaise ho", "kaise hain", "kya haal hai", "ram ram",
        "jai hind", "radhe radhe", "jai shri krishna", "salam", "salaam", "assalamualaikum",
        "नमस्ते", "नमस्कार", "मेनू", "कैसे हो", "कैसे हैं", "राम राम", "जय हिंद",
    ),
    Name.STOP: (
        "band karo", "band kar do", "band", "message band karo", "message mat bhejo",
        "mat bhejo",
        "बंद", "बंद करो", "बंद कर दो", "बंद करें", "मैसेज बंद करो", "मैसेज मत भेजो", "मत भेजो",
    ),
    Name.START: (
        "shuru", "shuru karo", "phir se shuru", "fir se shuru", "chalu karo",
        "शुरू", "शुरू करो", "शुरू करें", "फिर से शुरू", "चालू करो",
    ),
    Name.LANGUAGE: ("bhasha", "bhasa", "bhasha badlo", "भाषा", "भाषा बदलें", "भाषा बदलो"),
    Name.UNKNOWN: ("shuru nahi hua", "pata nahi", "maloom nahi", "samajh nahi aaya", "kya hua",
                   "ho sakta", "ho sakta hai", "शुरू नहीं हुआ", "पता नहीं", "मालूम नहीं",
                   "समझ नहीं आया", "क्या हुआ", "हो सकता"),
    Name.ADD_TASK: (
        "jodo", "joden", "jodein", "jodiye", "naya kaam", "kaam jodo",
        "जोड़ें", "जोड़ो", "जोड़िए", "नया काम", "काम जोड़ें",
    ),
}

MARATHI: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "zala", "jhala", "zhala", "zale", "jhale", "zhale", "zalay", "jhalay", "zhalay", "zali",
        "jhali", "purna", "purn", "purna zala", "purna jhale", "keli", "kele", "kela", "kelay",
        "karun zala", "sampla", "sample",
        "झाले", "झालं", "झाला", "झाली", "झालय", "झालंय", "पूर्ण", "पूर्ण झाले", "पूर्ण झालं",
        "पूर्ण केले", "केले", "केलं", "केला", "केली", "करून झाले", "संपले", "संपलं",
    ),
    Name.IN_PROGRESS: (
        "chalu aahe", "chalu ahe", "suru aahe", "suru ahe", "karat aahe", "karat ahe",
        "ajun nahi", "ajun zala nahi", "zala nahi", "jhala nahi", "zhala nahi", "nahi zala",
        "nahi jhala", "baki aahe", "apurna", "hoil", "hoeel",
        "सुरू आहे", "चालू आहे", "करत आहे", "करतो आहे", "करते आहे", "अजून नाही", "अजून झाले नाही",
        "झाले नाही", "झालं नाही", "झाला नाही", "नाही झाले", "बाकी आहे", "अपूर्ण", "होईल",
    ),
    Name.HELP: (
        "madat", "madat pahije", "madat havi", "madat hawi", "adchan", "adachan",
        "मदत", "मदत हवी", "मदत पाहिजे", "मदत करा", "अडचण", "अडचणी",
    ),
    Name.SKIP: ("vagla", "vagala", "sodun dya", "rahu dya", "वगळा", "वगळ", "सोडून द्या",
                "राहू द्या", "लागू नाही"),
    Name.YES: (
        "ho", "hoy", "ho na", "chalel", "thik aahe", "theek aahe", "barobar", "nakki",
        "ho nakki", "manya",
        "होय", "हो", "चालेल", "ठीक आहे", "बरोबर", "नक्की", "मान्य",
    ),
    Name.NO: ("nako", "naka", "nakoy", "ata nahi", "aata nahi", "atta nahi",
              "नाही", "नको", "आता नाही", "नकोय"),
    Name.LATER: ("nantar", "nantr", "udya", "udyaa", "udya karu", "nantar karu",
                 "नंतर", "उद्या", "उद्या करू", "नंतर करू", "थोड्या वेळाने"),
    Name.STATUS: ("kiti zala", "kiti jhala", "ahwal", "स्थिती", "प्रगती", "अहवाल", "किती झाले"),
    Name.TASKS: ("yaadi", "yadi", "kame", "kamanchi yadi", "sarva kame",
                 "यादी", "कामे", "कामांची यादी", "सर्व कामे", "कामाची यादी"),
    Name.MENU: ("kase ahat", "kasa ahat", "jai bhim", "कसे आहात", "पर्याय", "जय भीम"),
    Name.STOP: ("thamba", "band kara", "message band kara", "pathvu naka",
                "थांबा", "बंद करा", "मेसेज बंद करा", "पाठवू नका"),
    Name.START: ("suru", "suru kara", "punha suru", "parat suru", "chalu kara",
                 "सुरू", "सुरू करा", "पुन्हा सुरू", "परत सुरू", "चालू करा"),
    Name.LANGUAGE: ("bhasha badla", "भाषा बदला"),
    Name.ADD_TASK: ("joda", "navin kaam", "kaam joda", "जोडा", "नवीन काम", "काम जोडा"),
}

BENGALI: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "hoye geche", "hoye gechhe", "hoyegeche", "hoye gache", "hoye gese", "hoyeche",
        "hoyechhe", "hoise", "korechi", "korechhi", "kore felechi", "kore diyechi", "sesh",
        "shesh", "sesh hoyeche", "shesh hoyeche", "sompurno", "somponno",
        "হয়ে গেছে", "হয়েছে", "হয়ে গিয়েছে", "হয়ে গেল", "করেছি", "করে ফেলেছি", "করে দিয়েছি", "শেষ",
        "শেষ হয়েছে", "শেষ হয়ে গেছে", "সম্পন্ন", "সম্পূর্ণ", "সম্পন্ন হয়েছে",
    ),
    Name.IN_PROGRESS: (
        "cholche", "cholchhe", "chalche", "korchi", "korchhi", "hoyni", "hoy ni",
        "ekhono hoyni", "baki ache", "shuru korechi", "sesh hoyni",
        "চলছে", "করছি", "হয়নি", "এখনো হয়নি", "এখনও হয়নি", "বাকি আছে", "বাকি", "শুরু করেছি",
        "শেষ হয়নি",
    ),
    Name.HELP: (
        "sahajyo", "sahajjo", "shahajjo", "sahajya chai", "sahajjo chai", "sahajjo dorkar",
        "somossa", "shomossha", "somosya", "help chai",
        "সাহায্য", "সাহায্য চাই", "সাহায্য দরকার", "সমস্যা", "অসুবিধা",
    ),
    Name.SKIP: ("bad dao", "baad dao", "bad din", "chhere dao", "chere dao",
                "বাদ দাও", "বাদ দিন", "ছেড়ে দাও", "ছেড়ে দিন", "প্রযোজ্য নয়"),
    Name.YES: (
        "hae", "hya", "hyan", "thik ache", "thik achhe", "thikache", "cholbe", "nishchoy",
        "obosshoi", "raji",
        "হ্যাঁ", "হাঁ", "হ্যা", "জি", "জী", "ঠিক আছে", "আচ্ছা", "চলবে", "নিশ্চয়ই", "অবশ্যই",
        "রাজি",
    ),
    Name.NO: ("ekhon na", "ekhon noy", "dorkar nei", "chai na", "lagbe na",
              "না", "এখন না", "এখন নয়", "দরকার নেই", "চাই না", "লাগবে না"),
    Name.LATER: ("pore", "porey", "pore korbo", "agamikal", "ektu pore",
                 "পরে", "পরে করব", "কাল", "আগামীকাল", "একটু পরে"),
    Name.STATUS: ("obostha", "abostha", "oboshtha", "ki obostha", "progoti", "kotodur holo",
                  "অবস্থা", "অগ্রগতি", "কী অবস্থা", "কি অবস্থা", "কতদূর হল", "রিপোর্ট"),
    Name.TASKS: ("kaj", "kajer talika", "kajer list", "talika", "sob kaj",
                 "কাজ", "কাজের তালিকা", "তালিকা", "সব কাজ", "আমার কাজ"),
    Name.MENU: ("nomoskar", "nomoshkar", "নমস্কার", "মেনু", "হ্যালো"),
    Name.STOP: ("bondho koro", "bondho korun", "message bondho koro", "pathaben na",
                "বন্ধ করো", "বন্ধ করুন", "বন্ধ", "মেসেজ বন্ধ করো", "পাঠাবেন না"),
    Name.START: ("shuru koro", "abar shuru", "abar shuru koro",
                 "শুরু", "শুরু করো", "শুরু করুন", "আবার শুরু", "আবার শুরু করো", "চালু করো"),
    Name.LANGUAGE: ("bhasha bodlao", "ভাষা", "ভাষা বদলাও", "ভাষা পরিবর্তন"),
    Name.ADD_TASK: ("jog koro", "jog korun", "jukto koro", "notun kaj",
                    "যোগ করো", "যোগ করুন", "যুক্ত করো", "নতুন কাজ"),
}

GUJARATI: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "thai gayu", "thai gyu", "thaigayu", "thay gayu", "thai gayun", "thayu", "kari lidhu",
        "kari didhu", "puru", "puru thayu", "puru thai gayu", "pati gayu",
        "થઈ ગયું", "થઇ ગયું", "થઈ ગયુ", "થયું", "કરી લીધું", "કરી દીધું", "પૂરું", "પૂરું થયું",
        "પૂર્ણ", "પૂર્ણ થયું", "પતી ગયું",
    ),
    Name.IN_PROGRESS: (
        "chalu che", "chalu chhe", "chali rahyu che", "kari rahya chhiye", "nathi thayu",
        "haju nathi thayu", "haju nathi", "baki che", "baaki chhe",
        "ચાલુ છે", "ચાલુ", "ચાલી રહ્યું છે", "કરી રહ્યા છીએ", "કરી રહ્યો છું", "નથી થયું",
        "હજુ નથી થયું", "હજી નથી થયું", "હજુ નથી", "બાકી છે", "અધૂરું",
    ),
    Name.HELP: ("madad joie", "madad joiye", "sahay", "takleef",
                "મદદ", "મદદ જોઈએ", "સહાય", "સમસ્યા", "તકલીફ", "મુશ્કેલી"),
    Name.SKIP: ("chhodi do", "chodi do", "rehva do", "java do",
                "છોડી દો", "છોડો", "રહેવા દો", "જવા દો", "લાગુ પડતું નથી"),
    Name.YES: (
        "ha ji", "barabar", "saru", "saaru", "bhale", "chalse", "thik che", "theek chhe",
        "kabul", "manjur",
        "હા", "હાં", "હા જી", "બરાબર", "સારું", "ભલે", "ચાલશે", "ઠીક છે", "કબૂલ", "મંજૂર",
    ),
    Name.NO: ("hamna nahi", "hamna nai", "ના", "નહીં", "નહિ", "હમણાં નહીં", "અત્યારે નહીં"),
    Name.LATER: ("pachhi", "pachi", "pachhi karish", "kale", "aavti kale",
                 "પછી", "પછી કરીશ", "કાલે", "આવતીકાલે", "થોડી વાર પછી"),
    Name.STATUS: ("ketlu thayu", "સ્થિતિ", "પ્રગતિ", "રિપોર્ટ", "કેટલું થયું"),
    Name.TASKS: ("kaam ni yadi", "badha kaam", "કામ", "યાદી", "કામની યાદી", "બધા કામ", "સૂચિ"),
    Name.MENU: ("kem cho", "jai shree krishna", "jsk",
                "નમસ્તે", "કેમ છો", "જય શ્રી કૃષ્ણ", "મેનુ", "મેનૂ"),
    Name.STOP: ("bandh karo", "message bandh karo", "na moklo",
                "બંધ કરો", "બંધ", "મેસેજ બંધ કરો", "ના મોકલો"),
    Name.START: ("sharu", "sharu karo", "fari sharu", "farithi sharu karo",
                 "શરૂ", "શરૂ કરો", "ફરી શરૂ", "ફરીથી શરૂ કરો", "ચાલુ કરો"),
    Name.LANGUAGE: ("bhasha badlo", "ભાષા", "ભાષા બદલો"),
    Name.ADD_TASK: ("umero", "navu kaam", "kaam umero", "ઉમેરો", "કામ ઉમેરો", "નવું કામ"),
}

KANNADA: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "aaytu", "aaythu", "aayitu", "aayithu", "ayitu", "aytu", "aagide", "agide", "aagidhe",
        "mugiyitu", "mugide", "mugidide", "mugisiddene", "maadiddene", "madiddini", "madidini",
        "poorna aagide",
        "ಆಯಿತು", "ಆಯ್ತು", "ಆಗಿದೆ", "ಮುಗಿಯಿತು", "ಮುಗೀತು", "ಮುಗಿದಿದೆ", "ಮುಗಿಸಿದ್ದೇನೆ", "ಮಾಡಿದ್ದೇನೆ",
        "ಮಾಡಿದೆ", "ಪೂರ್ಣವಾಗಿದೆ", "ಪೂರ್ಣ", "ಪೂರ್ಣಗೊಂಡಿದೆ",
    ),
    Name.IN_PROGRESS: (
        "nadeyuttide", "nadeetide", "nadithide", "maaduttiddene", "maadtidini", "innu aagilla",
        "aagilla", "agilla", "baaki ide", "innu illa",
        "ನಡೆಯುತ್ತಿದೆ", "ನಡೀತಿದೆ", "ಮಾಡುತ್ತಿದ್ದೇನೆ", "ಮಾಡ್ತಿದೀನಿ", "ಇನ್ನೂ ಆಗಿಲ್ಲ", "ಆಗಿಲ್ಲ",
        "ಬಾಕಿ ಇದೆ", "ಪ್ರಗತಿಯಲ್ಲಿದೆ", "ಇನ್ನೂ ಇಲ್ಲ",
    ),
    Name.HELP: ("sahaya", "sahaaya", "sahaya beku", "help beku", "samasye", "thondare",
                "tondare", "ಸಹಾಯ", "ಸಹಾಯ ಬೇಕು", "ಸಮಸ್ಯೆ", "ತೊಂದರೆ"),
    Name.SKIP: ("bidi", "bittubidi", "bittu bidi", "ಬಿಡಿ", "ಬಿಟ್ಟುಬಿಡಿ", "ಬಿಟ್ಟು ಬಿಡಿ",
                "ಅನ್ವಯಿಸುವುದಿಲ್ಲ"),
    Name.YES: ("haudu", "houdu", "howdu", "sari", "sari sir", "aagali", "khandita",
               "ಹೌದು", "ಹೂಂ", "ಸರಿ", "ಆಗಲಿ", "ಒಪ್ಪಿಗೆ", "ಖಂಡಿತ"),
    Name.NO: ("illa", "beda", "eega beda", "eega illa", "ಇಲ್ಲ", "ಬೇಡ", "ಈಗ ಬೇಡ", "ಈಗ ಇಲ್ಲ"),
    Name.LATER: ("amele", "aamele", "nantara", "naale", "nale",
                 "ಆಮೇಲೆ", "ನಂತರ", "ನಾಳೆ", "ಸ್ವಲ್ಪ ಹೊತ್ತು ಬಿಟ್ಟು"),
    Name.STATUS: ("sthithi", "varadi", "eshtu aaytu", "ಸ್ಥಿತಿ", "ಪ್ರಗತಿ", "ವರದಿ", "ಎಷ್ಟು ಆಯಿತು"),
    Name.TASKS: ("kelasa", "kelasagalu", "patti", "ಕೆಲಸ", "ಕೆಲಸಗಳು", "ಪಟ್ಟಿ", "ಕೆಲಸಗಳ ಪಟ್ಟಿ"),
    Name.MENU: ("namaskara", "namaskaragalu", "ನಮಸ್ಕಾರ", "ಮೆನು"),
    Name.STOP: ("nillisi", "nilsi", "band maadi", "ನಿಲ್ಲಿಸಿ", "ನಿಲ್ಲಿಸು", "ಕಳುಹಿಸಬೇಡಿ"),
    Name.START: ("shuru maadi", "prarambhisi", "aarambhisi", "matte shuru",
                 "ಶುರು", "ಶುರು ಮಾಡಿ", "ಪ್ರಾರಂಭಿಸಿ", "ಆರಂಭಿಸಿ", "ಮತ್ತೆ ಶುರು"),
    Name.LANGUAGE: ("bhashe", "bhaashe", "ಭಾಷೆ", "ಭಾಷೆ ಬದಲಿಸಿ"),
    Name.ADD_TASK: ("serisi", "hosa kelasa", "kelasa serisi", "ಸೇರಿಸಿ", "ಕೆಲಸ ಸೇರಿಸಿ", "ಹೊಸ ಕೆಲಸ"),
}

TAMIL: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "mudinthathu", "mudindhadhu", "mudinjathu", "mudinjadhu", "mudinjuthu", "mudinjiduchu",
        "mudinchathu", "mudichitten", "mudichiten", "mudichutten", "mudichachu",
        "mudichaachu", "senjiten", "senjitten", "panniten", "pannitten", "aachu", "aayiduchu",
        "ayiduchu",
        "முடிந்தது", "முடிஞ்சது", "முடிஞ்சுது", "முடிச்சாச்சு", "முடிச்சிட்டேன்", "முடித்துவிட்டேன்",
        "முடித்தேன்", "முடிந்துவிட்டது", "செய்துவிட்டேன்", "செஞ்சிட்டேன்", "பண்ணிட்டேன்", "ஆச்சு",
        "ஆயிடுச்சு", "நிறைவு", "நிறைவடைந்தது",
    ),
    Name.IN_PROGRESS: (
        "nadakkuthu", "nadakuthu", "nadakkudhu", "pannittu irukken", "innum mudiyala",
        "innum mudiyavillai", "innum illa", "innum illai",
        "நடக்குது", "நடந்து கொண்டிருக்கிறது", "நடைபெறுகிறது", "செய்துகொண்டிருக்கிறேன்",
        "பண்ணிட்டு இருக்கேன்", "இன்னும் முடியவில்லை", "இன்னும் முடியல", "இன்னும் இல்லை",
        "நிலுவையில்",
    ),
    Name.HELP: ("udhavi", "uthavi", "udavi", "udhavi venum", "udhavi vendum", "prachanai",
                "prachnai", "sikkal",
                "உதவி", "உதவி வேண்டும்", "உதவி வேணும்", "பிரச்சனை", "சிக்கல்"),
    Name.SKIP: ("vidunga", "vittudu", "vittu vidu", "thavirkavum",
                "விடுங்க", "விட்டுவிடு", "விட்டுவிடுங்கள்", "தவிர்க்கவும்", "பொருந்தாது"),
    Name.YES: ("aam", "aama", "aamaa", "aamam", "seri", "saringa", "seringa", "kandippa",
               "kandippaga",
               "ஆம்", "ஆமா", "ஆமாம்", "சரி", "சரிங்க", "கண்டிப்பா", "கண்டிப்பாக"),
    Name.NO: ("illai", "illaa", "venda", "vendam", "venam", "ippo venda", "ippo illa",
              "இல்லை", "இல்ல", "வேண்டாம்", "வேணாம்", "இப்போ வேண்டாம்", "இப்போது வேண்டாம்"),
    Name.LATER: ("apparam", "aprom", "piragu", "naalai", "nalaikku", "naalaikku",
                 "அப்புறம்", "பிறகு", "நாளை", "நாளைக்கு", "பின்னர்"),
    Name.STATUS: ("nilai", "nilamai", "munnetram", "evvalavu aachu",
                  "நிலை", "நிலைமை", "முன்னேற்றம்", "அறிக்கை", "எவ்வளவு ஆச்சு"),
    Name.TASKS: ("velai", "velaigal", "pattiyal", "velai pattiyal",
                 "வேலை", "வேலைகள்", "பட்டியல்", "வேலை பட்டியல்", "பணிகள்"),
    Name.MENU: ("vanakkam", "vanakam", "வணக்கம்", "மெனு"),
    Name.STOP: ("niruthu", "nirutthu", "niruthungal", "niruthunga", "anuppa vendam",
                "நிறுத்து", "நிறுத்துங்கள்", "நிறுத்துங்க", "அனுப்ப வேண்டாம்"),
    Name.START: ("thodangu", "todangu", "aarambi", "arambi", "meendum thodangu",
                 "தொடங்கு", "தொடங்குங்கள்", "ஆரம்பி", "ஆரம்பிக்கவும்", "மீண்டும் தொடங்கு"),
    Name.LANGUAGE: ("mozhi", "mozhi maatru", "மொழி", "மொழியை மாற்று"),
    Name.ADD_TASK: ("serkkavum", "puthiya velai", "pudhiya velai",
                    "சேர்", "சேர்க்கவும்", "புதிய வேலை"),
}

TELUGU: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "aipoindi", "ayipoyindi", "aipoyindi", "ayipoindi", "aipoyindhi", "ayyindi", "aindi",
        "ayindi", "poorthi ayindi", "purthi ayindi", "purthayindi", "chesanu", "chesesanu",
        "chesaanu", "chesam", "mugisanu", "mugisindi",
        "అయిపోయింది", "అయ్యింది", "అయింది", "పూర్తయింది", "పూర్తి అయింది", "పూర్తి", "చేశాను",
        "చేసాను", "చేసేశాను", "ముగిసింది", "ముగించాను",
    ),
    Name.IN_PROGRESS: (
        "jarugutondi", "jaruguthundi", "jarugutundi", "chestunnanu", "chesthunnanu",
        "chestunnam", "inka kaaledu", "inka kaledu", "kaledu", "avvaledu", "inka avvaledu",
        "inka ledu",
        "జరుగుతోంది", "జరుగుతుంది", "చేస్తున్నాను", "చేస్తున్నాం", "ఇంకా కాలేదు", "కాలేదు",
        "అవ్వలేదు", "ఇంకా అవ్వలేదు", "ఇంకా లేదు",
    ),
    Name.HELP: ("sahayam", "sahaayam", "sahayam kavali", "help kavali", "ibbandi",
                "సహాయం", "సహాయం కావాలి", "సాయం", "సాయం కావాలి", "సమస్య", "ఇబ్బంది"),
    Name.SKIP: ("vadileyandi", "vadileyi", "vadilei", "వదిలేయండి", "వదిలేయి", "వర్తించదు"),
    Name.YES: ("avunu", "avnu", "aunu", "sare", "alage", "alaage", "tappakunda",
               "అవును", "ఔను", "సరే", "అలాగే", "తప్పకుండా"),
    Name.NO: ("ledu", "vaddu", "ippudu vaddu", "ippudu kaadu", "kaadu",
              "లేదు", "వద్దు", "ఇప్పుడు వద్దు", "ఇప్పుడు కాదు", "కాదు"),
    Name.LATER: ("tarvata", "taruvata", "tharvatha", "repu",
                 "తర్వాత", "తరువాత", "రేపు", "కొంచెం సేపు తర్వాత"),
    Name.STATUS: ("paristhiti", "purogati", "nivedika", "entha ayindi",
                  "స్థితి", "పరిస్థితి", "పురోగతి", "నివేదిక", "ఎంత అయింది"),
    Name.TASKS: ("pani", "panulu", "jaabitha", "jabita", "panula jabita",
                 "పని", "పనులు", "జాబితా", "పనుల జాబితా"),
    Name.MENU: ("namaskaram", "namaskaaram", "నమస్కారం", "నమస్తే", "మెను"),
    Name.STOP: ("aapu", "aapandi", "apandi", "aapeyandi", "pampakandi",
                "ఆపు", "ఆపండి", "ఆపేయండి", "పంపకండి"),
    Name.START: ("prarambhinchu", "modalu pettu", "modalupettandi", "malli modalu",
                 "ప్రారంభించు", "ప్రారంభించండి", "మొదలు పెట్టు", "మొదలుపెట్టండి", "మళ్ళీ మొదలు"),
    Name.LANGUAGE: ("bhaasha", "bhasha marchu", "భాష", "భాష మార్చు"),
    Name.ADD_TASK: ("cherchu", "cherchandi", "jodinchu", "kotha pani",
                    "చేర్చు", "చేర్చండి", "జోడించు", "జోడించండి", "కొత్త పని"),
}

PUNJABI: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "ho gia", "ho geya", "hogia", "kar lya", "kar leya", "mukk gaya", "mukkgaya",
        "ਹੋ ਗਿਆ", "ਹੋਗਿਆ", "ਹੋ ਗਈ", "ਕਰ ਲਿਆ", "ਕਰ ਦਿੱਤਾ", "ਪੂਰਾ", "ਪੂਰਾ ਹੋ ਗਿਆ", "ਮੁੱਕ ਗਿਆ",
        "ਖ਼ਤਮ", "ਖਤਮ",
    ),
    Name.IN_PROGRESS: (
        "chal reha", "chal riha", "kar rahe haan", "kar reha haan", "ajje nahi hoya",
        "nahi hoya", "hoya nahi",
        "ਚੱਲ ਰਿਹਾ", "ਚਲ ਰਿਹਾ", "ਕਰ ਰਹੇ ਹਾਂ", "ਅਜੇ ਨਹੀਂ ਹੋਇਆ", "ਨਹੀਂ ਹੋਇਆ", "ਬਾਕੀ ਹੈ", "ਜਾਰੀ ਹੈ",
    ),
    Name.HELP: ("madad chahidi", "ਮਦਦ", "ਮਦਦ ਚਾਹੀਦੀ", "ਸਹਾਇਤਾ", "ਸਮੱਸਿਆ", "ਮੁਸ਼ਕਲ"),
    Name.SKIP: ("chadd do", "chhad do", "chaddo", "chhaddo", "rehan do",
                "ਛੱਡ ਦਿਓ", "ਛੱਡੋ", "ਰਹਿਣ ਦਿਓ", "ਲਾਗੂ ਨਹੀਂ"),
    Name.YES: ("haji", "thik aa", "theek aa", "changa",
               "ਹਾਂ", "ਹਾਂ ਜੀ", "ਜੀ", "ਠੀਕ ਹੈ", "ਠੀਕ ਆ", "ਚੰਗਾ", "ਜ਼ਰੂਰ", "ਬਿਲਕੁਲ"),
    Name.NO: ("hune nahi", "hun nahi", "ਨਹੀਂ", "ਨਹੀ", "ਨਾ", "ਹੁਣ ਨਹੀਂ"),
    Name.LATER: ("baad ch", "baad vich", "baadch", "bhalke",
                 "ਬਾਅਦ ਵਿੱਚ", "ਬਾਦ ਵਿੱਚ", "ਕੱਲ੍ਹ", "ਕੱਲ", "ਭਲਕੇ", "ਥੋੜੀ ਦੇਰ ਬਾਅਦ"),
    Name.STATUS: ("halat", "kinna hoya", "ਸਥਿਤੀ", "ਹਾਲਤ", "ਪ੍ਰਗਤੀ", "ਰਿਪੋਰਟ", "ਕਿੰਨਾ ਹੋਇਆ"),
    Name.TASKS: ("kamm", "kamm di list", "ਕੰਮ", "ਸੂਚੀ", "ਕੰਮਾਂ ਦੀ ਸੂਚੀ", "ਸਾਰੇ ਕੰਮ"),
    Name.MENU: ("sat sri akal", "sat shri akal", "ssa",
                "ਸਤ ਸ੍ਰੀ ਅਕਾਲ", "ਸਤਿ ਸ੍ਰੀ ਅਕਾਲ", "ਮੀਨੂ", "ਮੇਨੂ"),
    Name.STOP: ("message na bhejo", "na bhejo", "ਬੰਦ ਕਰੋ", "ਬੰਦ", "ਮੈਸੇਜ ਬੰਦ ਕਰੋ", "ਨਾ ਭੇਜੋ"),
    Name.START: ("dubara shuru", "mud ke shuru",
                 "ਸ਼ੁਰੂ", "ਸ਼ੁਰੂ ਕਰੋ", "ਦੁਬਾਰਾ ਸ਼ੁਰੂ", "ਮੁੜ ਸ਼ੁਰੂ"),
    Name.LANGUAGE: ("ਭਾਸ਼ਾ", "ਬੋਲੀ"),
    Name.ADD_TASK: ("shamil karo", "nava kamm", "ਜੋੜੋ", "ਸ਼ਾਮਲ ਕਰੋ", "ਨਵਾਂ ਕੰਮ"),
}

ODIA: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "hei gala", "heigala", "hoi gala", "hoigala", "hela", "sari gala", "sarigala",
        "sarichi", "kari deli", "karideli", "sesa hela",
        "ହୋଇଗଲା", "ହୋଇ ଗଲା", "ହେଇଗଲା", "ହେଲା", "ସରିଗଲା", "ସରି ଗଲା", "ସରିଛି", "କରିଦେଲି",
        "କରି ଦେଲି", "ସମ୍ପୂର୍ଣ୍ଣ", "ଶେଷ", "ସମାପ୍ତ",
    ),
    Name.IN_PROGRESS: (
        "chaluchi", "chalichi", "karuchi", "karuchu", "heini", "hoini", "ebe bi heini",
        "baki achi",
        "ଚାଲୁଛି", "ଚାଲିଛି", "କରୁଛି", "କରୁଛୁ", "ହୋଇନି", "ହେଇନି", "ହୋଇନାହିଁ", "ଏବେ ବି ହୋଇନି",
        "ବାକି ଅଛି",
    ),
    Name.HELP: ("sahajya darkar", "sahayata darkar", "asubidha",
                "ସାହାଯ୍ୟ", "ସାହାଯ୍ୟ ଦରକାର", "ସହାୟତା", "ସମସ୍ୟା", "ଅସୁବିଧା"),
    Name.SKIP: ("chhadi dia", "chhadantu", "chhado",
                "ଛାଡି ଦିଅ", "ଛାଡ଼ି ଦିଅନ୍ତୁ", "ଛାଡନ୍ତୁ", "ପ୍ରଯୁଜ୍ୟ ନୁହେଁ"),
    Name.YES: ("hau", "thik achi", "agyan", "aagyan", "agnya",
               "ହଁ", "ହଁ ଆଜ୍ଞା", "ଆଜ୍ଞା", "ଠିକ ଅଛି", "ଠିକ୍ ଅଛି", "ନିଶ୍ଚୟ"),
    Name.NO: ("ebe nuhen", "ebe na", "darkar nahi",
              "ନା", "ନାହିଁ", "ଏବେ ନୁହେଁ", "ଏବେ ନାହିଁ", "ଦରକାର ନାହିଁ"),
    Name.LATER: ("pare", "kali", "kaali", "asanta kali", "tike pare",
                 "ପରେ", "କାଲି", "ଆସନ୍ତାକାଲି", "ଟିକେ ପରେ"),
    Name.STATUS: ("kete hela", "ସ୍ଥିତି", "ଅଗ୍ରଗତି", "ପ୍ରଗତି", "ରିପୋର୍ଟ", "କେତେ ହେଲା"),
    Name.TASKS: ("kama", "kama talika", "sabu kama", "କାମ", "କାମ ତାଲିକା", "ତାଲିକା", "ସବୁ କାମ"),
    Name.MENU: ("jay jagannath", "jai jagannath", "ନମସ୍କାର", "ମେନୁ", "ଜୟ ଜଗନ୍ନାଥ"),
    Name.STOP: ("banda kara", "bandha kara", "band karantu",
                "ବନ୍ଦ କର", "ବନ୍ଦ କରନ୍ତୁ", "ବନ୍ଦ", "ପଠାନ୍ତୁ ନାହିଁ"),
    Name.START: ("aarambha", "arambha", "aarambha kara", "puni aarambha",
                 "ଆରମ୍ଭ", "ଆରମ୍ଭ କର", "ଆରମ୍ଭ କରନ୍ତୁ", "ପୁଣି ଆରମ୍ଭ"),
    Name.LANGUAGE: ("ଭାଷା", "ଭାଷା ବଦଳାନ୍ତୁ"),
    Name.ADD_TASK: ("jodantu", "nua kama", "ଯୋଡ଼ନ୍ତୁ", "ଯୋଗ କରନ୍ତୁ", "ନୂଆ କାମ"),
}

ASSAMESE: dict[Name, tuple[str, ...]] = {
    Name.DONE: (
        "hoi gol", "hoigol", "hol", "hoi gaise", "korilu", "kori pelalu", "xes", "ses",
        "xes hol", "xampurna",
        "হৈ গ'ল", "হৈ গল", "হ'ল", "হল", "হৈছে", "কৰিলোঁ", "কৰি পেলালোঁ", "শেষ হ'ল", "সম্পূৰ্ণ",
    ),
    Name.IN_PROGRESS: (
        "choli ase", "choli ase", "kori asu", "kori aso", "hoa nai", "huwa nai",
        "ejiyau hoa nai", "baki ase",
        "চলি আছে", "কৰি আছোঁ", "হোৱা নাই", "এতিয়াও হোৱা নাই", "বাকী আছে",
    ),
    Name.HELP: ("xahay", "sahay lage", "xohay lage", "xomoxya",
                "সহায়", "সহায় লাগে", "সাহায্য লাগে"),
    Name.SKIP: ("bad diyok", "eri diyok", "eri diya", "বাদ দিয়ক", "এৰি দিয়ক", "প্ৰযোজ্য নহয়"),
    Name.YES: ("hoi", "hoy", "thik ase", "baru", "হয়", "বাৰু", "হ'ব", "নিশ্চয়"),
    Name.NO: ("nohoy", "nohoi", "etia nohoy", "nalage", "নাই", "নহয়", "এতিয়া নহয়", "নালাগে"),
    Name.LATER: ("pisot", "pasot", "pichot", "kaili", "olop pisot",
                 "পিছত", "কাইলৈ", "কালি", "অলপ পিছত"),
    Name.STATUS: ("oboxtha", "agragati", "kiman hol", "অৱস্থা", "অগ্ৰগতি", "কিমান হ'ল", "প্ৰতিবেদন"),
    Name.TASKS: ("kamor talika", "xokolu kam", "কাম", "কামৰ তালিকা", "সকলো কাম"),
    Name.MENU: ("নমস্কাৰ",),
    Name.STOP: ("bondho korok", "bondho kora", "বন্ধ কৰক", "বন্ধ কৰা", "নপঠিয়াব"),
    Name.START: ("arombho", "arombho korok", "punor arombho", "আৰম্ভ", "আৰম্ভ কৰক", "পুনৰ আৰম্ভ"),
    Name.LANGUAGE: ("bhaxa", "ভাষা সলনি"),
    Name.ADD_TASK: ("jog diyok", "notun kam", "যোগ দিয়ক", "যোগ কৰক", "নতুন কাম"),
}

KINYARWANDA: dict[Name, tuple[str, ...]] = {
    Name.DONE: ("byarangiye", "birarangiye", "byararangiye", "narangije", "ndangije",
                "ndabirangije", "nabirangije", "twarangije", "nabikoze", "narabikoze",
                "byakozwe", "byuzuye"),
    Name.IN_PROGRESS: ("biracyakorwa", "ndacyakora", "turacyakora", "ndimo", "turimo",
                       "biri gukorwa", "ntibirarangira", "sindarangiza", "ntabwo birarangira",
                       "birakomeje", "bikomeje"),
    Name.HELP: ("ubufasha", "nkeneye ubufasha", "ndakeneye ubufasha", "mfasha", "mumfashe",
                "nfasha", "ikibazo", "mfite ikibazo"),
    Name.SKIP: ("simbuka", "bireke", "ntibikenewe"),
    Name.YES: ("yego", "ego", "yee", "ni byo", "nibyo", "ndabyemeye", "ndemera",
               "yego cyane"),
    Name.NO: ("oya", "ntabwo", "sinshaka", "si ubu", "ubu oya"),
    Name.LATER: ("ejo", "nyuma", "hanyuma", "mu kanya", "ubutaha", "nyuma yaho"),
    Name.STATUS: ("uko bihagaze", "aho bigeze", "aho ngeze", "raporo", "imiterere"),
    Name.TASKS: ("imirimo", "urutonde", "urutonde rw'imirimo"),
    Name.MENU: ("muraho", "mwaramutse", "mwiriwe", "amakuru", "bite", "amahitamo"),
    Name.STOP: ("hagarara", "hagarika", "hagarika ubutumwa"),
    Name.START: ("tangira", "ongera utangire", "subukura"),
    Name.LANGUAGE: ("ururimi", "hindura ururimi"),
    Name.ADD_TASK: ("ongeraho", "ongeramo", "umurimo mushya", "ongeraho umurimo"),
}

SWAHILI: dict[Name, tuple[str, ...]] = {
    Name.DONE: ("nimemaliza", "nimeshamaliza", "tumemaliza", "imekamilika", "nimekamilisha",
                "tayari", "imeisha", "imekwisha", "nimefanya", "imefanyika"),
    Name.IN_PROGRESS: ("inaendelea", "ninaendelea", "naendelea", "tunaendelea", "bado",
                       "bado sijamaliza", "sijamaliza", "haijakamilika", "bado haijakamilika",
                       "ninafanya"),
    Name.HELP: ("msaada", "nisaidie", "nahitaji msaada", "naomba msaada", "saidia", "tatizo",
                "shida"),
    Name.SKIP: ("ruka", "ruka hii", "haihusiki"),
    Name.YES: ("ndiyo", "ndio", "sawa", "sawa sawa", "haya", "nakubali", "kubali",
               "bila shaka"),
    Name.NO: ("hapana", "si sasa", "sio sasa", "hapana asante", "sitaki"),
    Name.LATER: ("baadaye", "baadae", "badaye", "kesho", "baadaye kidogo"),
    Name.STATUS: ("hali", "hali ilivyo", "maendeleo", "ripoti", "hali ya kazi"),
    Name.TASKS: ("kazi", "orodha", "kazi zote", "kazi zangu", "orodha ya kazi"),
    Name.MENU: ("habari", "hujambo", "jambo", "mambo", "salama", "shikamoo", "menyu",
                "habari yako", "chaguo"),
    Name.STOP: ("acha", "simamisha", "sitisha", "acha kutuma", "usitume"),
    Name.START: ("anza", "anza tena", "anza upya", "anzisha"),
    Name.LANGUAGE: ("lugha", "badilisha lugha"),
    Name.ADD_TASK: ("ongeza", "ongeza kazi", "kazi mpya"),
}

FRENCH: dict[Name, tuple[str, ...]] = {
    Name.DONE: ("fini", "finie", "terminé", "terminée", "fait", "faite", "c'est fait",
                "c'est fini", "c'est terminé", "j'ai fini", "j'ai terminé", "achevé",
                "accompli", "réalisé", "tâche terminée", "déjà fait"),
    Name.IN_PROGRESS: ("en cours", "pas encore", "pas fini", "pas terminé", "pas encore fini",
                       "pas encore fait", "je travaille", "ça avance", "en train", "en progrès",
                       "commencé", "j'ai commencé"),
    Name.HELP: ("aide", "besoin d'aide", "j'ai besoin d'aide", "aidez-moi", "aidez moi",
                "au secours", "problème", "difficulté", "bloqué"),
    Name.SKIP: ("passer", "sauter", "ignorer", "passe", "non applicable", "sans objet"),
    Name.YES: ("oui", "d'accord", "daccord", "dac", "bien sûr", "ouais", "volontiers",
               "j'accepte", "accepte", "bien", "parfait", "entendu", "oui merci"),
    Name.NO: ("non", "pas maintenant", "non merci", "je refuse", "refuse"),
    Name.LATER: ("plus tard", "demain", "après", "tout à l'heure", "la semaine prochaine"),
    Name.STATUS: ("statut", "état", "situation", "progrès", "avancement", "où en suis-je",
                  "rapport", "bilan"),
    Name.TASKS: ("tâches", "tâche", "liste", "mes tâches", "liste des tâches", "toutes les tâches"),
    Name.MENU: ("bonjour", "salut", "bonsoir", "coucou", "menu principal"),
    Name.STOP: ("arrête", "arrêter", "arrêtez", "arrêt", "désabonner", "ne plus envoyer"),
    Name.START: ("recommencer", "reprendre", "commencer", "commencez", "démarrer",
                 "redémarrer"),
    Name.LANGUAGE: ("langue", "langues", "changer de langue"),
    Name.ADD_TASK: ("ajouter", "ajoute", "ajoutez", "nouvelle tâche", "ajouter une tâche",
                    "ajouter tâche"),
}

LEXICON: dict[str, dict[Name, tuple[str, ...]]] = {
    "*": ANY_LANGUAGE, "en": ENGLISH, "hi": HINDI, "mr": MARATHI, "bn": BENGALI,
    "gu": GUJARATI, "kn": KANNADA, "ta": TAMIL, "te": TELUGU, "pa": PUNJABI, "or": ODIA,
    "as": ASSAMESE, "rw": KINYARWANDA, "sw": SWAHILI, "fr": FRENCH,
}

# Neighbours, for breaking ties: a word's meaning in the person's own region comes first.
REGIONS = (("hi", "mr", "bn", "gu", "kn", "ta", "te", "pa", "or", "as"), ("rw", "sw", "fr"))

# Words that introduce a task number ("task 3", "kaam 3"); alone they ask for the task list.
TASK_WORDS = frozenset({
    "task", "tasks", "kaam", "kam", "kamm", "kaj", "kama", "pani", "velai", "kelasa",
    "umurimo", "imirimo", "kazi", "tache", "taches", "item", "काम", "कार्य", "টাস্ক", "কাজ",
    "কাম", "કામ", "ಕೆಲಸ", "வேலை", "పని", "ਕੰਮ", "କାମ",
})
# Words that introduce a number only when one follows ("no 3"; "no" alone means no).
NUMBER_WORDS = frozenset({"no", "number", "num", "nr", "#", "nambar", "kramank", "numero",
                          "namba", "nimero", "नंबर", "क्रमांक", "নম্বর", "ਨੰਬਰ"})

# Politeness that carries no meaning ("sir", "please", "hai"): it weighs nothing.
FILLER = frozenset({
    "sir", "sirji", "sar", "madam", "mam", "maam", "ma", "am", "ji", "please", "pls", "plz",
    "kindly", "dear", "thanks", "thank", "thanku", "thankyou", "thnx", "thx", "you", "is",
    "the", "it", "its", "s", "has", "been", "have", "we", "i", "my", "all", "a", "an", "this",
    "hai", "hain", "he", "ne", "aahe", "ahe", "che", "chhe", "sahab", "saheb", "garu", "anna",
    "ayya", "avare", "dhanyavad", "dhanyawad", "shukriya", "asante", "murakoze", "merci",
    "monsieur", "madame", "svp", "stp", "c", "est", "j", "ai", "d", "l", "mwalimu",
    "सर", "जी", "है", "हैं", "आहे", "ने", "धन्यवाद", "शुक्रिया", "मैडम", "साहेब", "છે", "ਹੈ",
    "ਜੀ", "স্যার", "ಸರ್", "சார்", "సార్", "గారు", "ସାର୍", "চাৰ",
})

# Words that may stand next to STOP and leave it a deliberate STOP ("stop messages please").
STOP_COMPANIONS = frozenset({"me", "messages", "message", "msg", "msgs", "sms", "reminders",
                             "reminder", "now", "these", "them", "bot", "karo", "kar", "do",
                             "abhi", "मैसेज", "संदेश", "अभी", "करो"})


# --- folding and words --------------------------------------------------------------------------

_DROP = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u20e3"  # joiners, variation selectors, keycap
    "\u093c\u09bc\u0a3c\u0abc\u0b3c\u0c3c\u0cbc"  # nuktas: ड़ = ड, as people often type it
)
_SAME = str.maketrans({
    "\u0901": "\u0902", "\u0981": "\u0982", "\u0a01": "\u0a02", "\u0a70": "\u0a02",
    "\u0a81": "\u0a82", "\u0b01": "\u0b02", "\u0c01": "\u0c02", "\u0c81": "\u0c82",
    "\u09f0": "\u09b0", "\u09f1": "\u09ac",  # Assamese ৰ ৱ typed on a Bengali keyboard
})
_HELD = re.compile(r"([^\W\d])\1{2,}")  # a letter held down: "yesss"
_DIGITS_APART = re.compile(r"\d+|\D+")


def _fold(text: str) -> str:
    """Compatibility forms, case, Latin accents, nuktas, nasal signs, and digits of any script."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    out: list[str] = []
    latin = False
    for ch in text.translate(_SAME):
        if ch in _DROP or (latin and unicodedata.combining(ch)):
            continue
        if ch.isdigit():
            ch = str(unicodedata.digit(ch, 0))
        elif "\U0001f3fb" <= ch <= "\U0001f3ff":  # skin tones
            continue
        if not unicodedata.combining(ch):
            latin = ch.isascii() and ch.isalpha()
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _tokens(text: str) -> list[str]:
    """The words of a text, folded: punctuation separates; "?", "#" and emoji stand alone."""
    words: list[str] = []
    current: list[str] = []

    def end_word() -> None:
        if current:
            word = _HELD.sub(r"\1", "".join(current))
            words.extend(_DIGITS_APART.findall(word))  # "task3" is "task 3"
            current.clear()

    for ch in _fold(text):
        category = unicodedata.category(ch)
        if ch in "?#" or category == "So":
            end_word()
            words.append(ch)
        elif ch.isspace() or category[0] in "PSZC":
            end_word()
        else:
            current.append(ch)
    end_word()
    return words


# --- typos ---------------------------------------------------------------------------------------


def _latin(word: str) -> bool:
    return word.isascii() and word.isalpha()


def _typo(word: str, keyword: str) -> bool:
    """One slip of the finger (rule 2): never for short words or outside Latin script."""
    n = len(keyword)
    if n < 4 or word[0] != keyword[0] or not (_latin(word) and _latin(keyword)):
        return False
    if len(word) == n:
        diffs = [i for i in range(n) if word[i] != keyword[i]]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            i = diffs[0]
            return word[i] == keyword[i + 1] and word[i + 1] == keyword[i]  # swapped pair
        return len(diffs) == 1 and n >= 6
    if abs(len(word) - n) != 1:
        return False
    short, long = (word, keyword) if len(word) < n else (keyword, word)
    for i in range(len(long)):
        if long[:i] + long[i + 1 :] == short:
            if n >= 6:
                return True
            # under six letters only a letter typed twice ("donne"), none missing or changed
            doubled = long[i] in long[max(i - 1, 0) : i] + long[i + 1 : i + 2]
            if len(word) > n and doubled:
                return True
    return False


# --- the phrase table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    meanings: tuple[tuple[str, Name], ...]  # (language, intent), as many as languages say it


def _build() -> tuple[dict[str, list[_Phrase]], list[tuple[str, ...]]]:
    meanings: dict[tuple[str, ...], dict[str, Name]] = {}
    adds: set[tuple[str, ...]] = set()
    for language, table in LEXICON.items():
        for name, phrases in table.items():
            for phrase in phrases:
                words = tuple(_tokens(phrase))
                if name == Name.ADD_TASK:
                    adds.add(words)
                else:
                    meanings.setdefault(words, {}).setdefault(language, name)
    by_first: dict[str, list[_Phrase]] = {}
    for words, by_language in meanings.items():
        by_first.setdefault(words[0], []).append(_Phrase(words, tuple(by_language.items())))
    return by_first, sorted(adds, key=lambda words: -len(words))


_BY_FIRST, _ADD = _build()


def _folded(words: frozenset[str]) -> frozenset[str]:
    return frozenset(token for word in words for token in _tokens(word))


# The word lists above as they look once folded ("ਕੰਮ" is typed with tippi or bindi).
_TASK_WORDS, _NUMBER_WORDS = _folded(TASK_WORDS), _folded(NUMBER_WORDS)
_FILLER, _STOP_COMPANIONS = _folded(FILLER), _folded(STOP_COMPANIONS)
_KEYWORDS = frozenset(word for phrases in _BY_FIRST.values() for p in phrases for word in p.words)


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


# Words that only ever appear in "means nothing" phrases ("competed") block their exact
# selves, but a typo is never read as one of them: "compelted" is "completed".
_MEANINGFUL = frozenset(word for phrases in _BY_FIRST.values() for p in phrases
                        if any(name != Name.UNKNOWN for _, name in p.meanings)
                        for word in p.words)
_NEAR: dict[str, set[str]] = {}
for _keyword in _KEYWORDS & _MEANINGFUL:
    if len(_keyword) >= 4 and _latin(_keyword):
        for _variant in _deletions(_keyword):
            _NEAR.setdefault(_variant, set()).add(_keyword)


@lru_cache(maxsize=4096)
def _spellings(token: str) -> dict[str, int]:
    """The table's words this token may be, with the edits it takes (0 or 1)."""
    found = {token: 0} if token in _KEYWORDS else {}
    if token in _FILLER or not _latin(token) or len(token) < 3:
        return found
    # Sorted, so the same reply is read the same way in every process (sets iterate in an
    # order that changes with Python's hash seed).
    for variant in sorted(_deletions(token)):
        for keyword in sorted(_NEAR.get(variant, ())):
            if keyword not in found and _typo(token, keyword):
                found[keyword] = 1
    return found


@lru_cache(maxsize=64)
def _preference(language: str) -> tuple[str, ...]:
    """Whose meaning counts first when languages disagree (rule 7)."""
    own = (language or "en").split("-")[0].split("_")[0].casefold()
    region = next((r for r in REGIONS if own in r), ())
    ordered = [own, *region, "en", *LEXICON]
    return tuple(dict.fromkeys(ordered))


# --- matching ----------------------------------------------------------------------------------

# How strongly an intent holds its ground against others in the same reply (rule 5).
_TIER = {Name.MENU: 0, Name.START: 1, Name.YES: 2, Name.NO: 3, Name.LATER: 4}  # others: 5


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    weight: int  # words that carry meaning
    edits: int
    name: Name
    rank: int  # position of the meaning's language in the person's preference

    def overlaps(self, other: _Match) -> bool:
        return self.start < other.end and other.start < self.end


def _quiet(token: str) -> bool:
    return token in _FILLER or token in _TASK_WORDS or token.isdigit()


def _weights(tokens: list[str]) -> list[int]:
    """1 for a word that carries meaning, 0 for politeness, task words and numbering."""
    weights = []
    for i, token in enumerate(tokens):
        numbering = token in _NUMBER_WORDS and i + 1 < len(tokens) and tokens[i + 1].isdigit()
        weights.append(0 if _quiet(token) or numbering else 1)
    return weights


def _matches(tokens: list[str], weights: list[int], language: str) -> list[_Match]:
    """Every phrase of the tables found in the reply, each with the meaning the person gives it."""
    preference = _preference(language)
    found: list[_Match] = []
    for start, token in enumerate(tokens):
        for first, edits in _spellings(token).items():
            for phrase in _BY_FIRST.get(first, ()):
                end = start + len(phrase.words)
                if end > len(tokens):
                    continue
                total = edits
                for word, typed in zip(phrase.words[1:], tokens[start + 1 : end], strict=True):
                    more = _spellings(typed).get(word)
                    if more is None:
                        break
                    total += more
                else:
                    rank, name = min((preference.index(lang), meaning)
                                     for lang, meaning in phrase.meanings)
                    found.append(_Match(start, end, sum(weights[start:end]), total, name, rank))
    return found


def _deliberate_stop(match: _Match, tokens: list[str]) -> bool:
    """Rule 6: exact, and nothing else said but politeness, emoji and "messages"."""
    rest = tokens[: match.start] + tokens[match.end :]
    return match.edits == 0 and all(
        t in _FILLER or t in _STOP_COMPANIONS or t == "?" or unicodedata.category(t[0]) == "So"
        for t in rest)


def _choose(tokens: list[str], language: str, number: int | None) -> Name | None:
    weights = _weights(tokens)
    found = _matches(tokens, weights, language)
    if any(weights):
        found = [m for m in found if m.weight]
    elif number is not None:
        return None  # "task 3", "no 3": the number is the whole answer
    # Rule 4: the heavier, then longer phrase keeps its words; the phrases inside it drop out.
    found.sort(key=lambda m: (-m.weight, -(m.end - m.start), m.edits, m.start, m.rank))
    kept: list[_Match] = []
    for match in found:
        if not any(match.overlaps(k) for k in kept):
            kept.append(match)
    candidates = [m for m in kept if m.name != Name.UNKNOWN
                  and (m.name != Name.STOP or _deliberate_stop(m, tokens))]
    if not candidates:
        return None
    best = min(candidates, key=lambda m: (-_TIER.get(m.name, 5), -m.weight, m.edits, m.start,
                                          m.rank))
    return best.name


def _number(tokens: list[str]) -> int | None:
    """A number that starts the reply (after politeness), or one after a task word."""
    for i, token in enumerate(tokens):
        if token.isdigit():
            before = tokens[i - 1] if i else ""
            if before in _TASK_WORDS or before in _NUMBER_WORDS or all(
                    _quiet(t) or t in _NUMBER_WORDS for t in tokens[:i]):
                return int(token)
    return None


def normalise(text: str) -> str:
    """A reply as the parser sees it (folded words), so the same reply typed differently groups
    together on the "Replies not understood" page and a taught phrase matches as typed."""
    return " ".join(_tokens(text or ""))


def parse(text: str, language: str = "en", taught: tuple[TaughtPhrase, ...] = ()) -> Intent:
    """Understand one reply. `language` is the person's; replies in other languages work too."""
    raw = (text or "").strip()
    tokens = _tokens(raw)
    if not tokens:
        return Intent(Name.UNKNOWN)
    lead = 0
    while lead < len(tokens) and tokens[lead] in _FILLER:
        lead += 1
    for phrase in _ADD:
        # Exact only: a typo-tolerant "जोड़ो" (add) would swallow "छोड़ो" (skip).
        if tuple(tokens[lead : lead + len(phrase)]) == phrase:
            return Intent(Name.ADD_TASK, text=_after(raw, tokens, lead + len(phrase)))
    number = _number(tokens)
    name = _choose(tokens, language, number)
    return Intent(name or Name.UNKNOWN, number=number, text=raw)


def _after(raw: str, tokens: list[str], count: int) -> str:
    """The reply after its first `count` words, as the headmaster typed it."""
    head = tokens[:count]
    for i in range(1, len(raw) + 1):
        prefix = _tokens(raw[:i])
        if len(prefix) > count:
            break
        if prefix == head and prefix + _tokens(raw[i:]) == tokens:
            return raw[i:].strip().lstrip(":-–—,.;/ ").strip()
    return ""
