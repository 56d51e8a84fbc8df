"""Phrase families that signal each kind of message, as people actually write them.

Each family is a `Family` of `Phrase`s: a regex, its label (which goes into
`Detection.reasons`) and keywords, one of which a text contains for the phrase to count
in it.  The families describe ways of saying a thing ("meet X", "looping in", "you
two should talk"), not sentences of any one message.  Patterns that need the user's
first name ("meet Jordan", "Jordan is ...") are built per name by `me_patterns`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .phrases import Family, Phrase, probe_of

_I = re.IGNORECASE


def _family(*cues: tuple[str, str, str]) -> Family:
    """Phrases as (keys separated by "|", regex, label)."""
    return Family(Phrase(p, label, tuple(keys.split("|"))) for keys, p, label in cues)


# Strong: the sender is making an introduction.
INTRO = _family(
    ("introduc", r"\bintroduc(e|ed|es|ing|tion)\b", "phrase 'introduce'"),
    # "Tom, Jordan; Jordan, Tom." and "Jordan – Ana; Ana – Jordan": the pairing idiom.
    (";|/", r"\b(?P<a>[^\W\d_]{2,})\s*[-–—,:]\s*(?P<b>[^\W\d_]{2,})\s*[;/.]\s*(?P=b)\s*[-–—,:]\s*(?P=a)\b", "phrase 'A, B; B, A'"),
    ("intro", r"\bintro\b", "phrase 'intro'"),
    # "meet" and a name ("Sam, meet Dana", "Meet Jordan"), not "meet up" or "nice to meet you".
    ("meet", r"\bmeet\s+(?!up\b)(?-i:[^\W\d_a-zß-ÿ])", "phrase 'meet X'"),
    ("connect", r"\bconnect(ing)?\s+(you|u)\b|\bconnect\s+the\s+two\s+of\s+you\b", "phrase 'connecting you'"),
    ("touch", r"\bput(ting)?\s+(you|u)\s+(two\s+|both\s+)?in\s+touch\b", "phrase 'put you in touch'"),
    ("loop|add|includ|+", r"\bloop(ing|ed)?\s+in\b|\b(adding|added|including|included)\s+(?-i:[^\W\d_a-zß-ÿ])|(^|\s)\+[^\W\d_]{2,}", "phrase 'looping in'"),
    ("this is", r"(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+\s*[,\-–—]\s*this\s+is\s+(?-i:[^\W\d_a-zß-ÿ])", "phrase 'X, this is Y'"),
    ("cc|copying", r"\bcc['’]?(d|ed|ing)\b|\bcopying\s+[^\W\d_]+|\b(on|in|to)\s+(the\s+)?cc\b", "phrase 'cc'd'"),
    ("you two|you both", r"\byou\s+(two|both)\s+(should|need\s+to|must|ought\s+to|would|will|might)\s+(really\s+)?(talk|meet|connect|chat|know|hit\s+it\s+off|get\s+along|enjoy)", "phrase 'you two should talk'"),
    ("you two|you both|two of you", r"\b(like|want|wanted)\s+(you\s+two|you\s+both|the\s+two\s+of\s+you)\s+to\s+(meet|connect|talk)", "phrase 'you two should talk'"),
)
# Weak: common in introductions, but also elsewhere.
INTRO_WEAK = _family(
    ("you two|you both|both of you|two of you", r"\b(you\s+two|you\s+both|both\s+of\s+you|the\s+two\s+of\s+you)\b", "phrase 'you two'"),
    ("both|all|you two", r"^\s*(hi|hello|dear|hey)\s+(both|all|you\s+two)\b", "greeting both"),
    ("from here|over to you|step back|leave|let you", r"\b(take\s+it\s+from\s+here|over\s+to\s+you|step\s+back|leave\s+(it|the\s+arrangements)\s+to\s+you|let\s+you\s+(two|both|guys))\b", "phrase 'over to you'"),
)
# The contact answering an introduction ("thanks for the intro, moving Sam to bcc").
INTRO_REPLY = _family(
    ("thank", r"\bthanks?(\s+you)?(\s+so\s+much)?(,\s*[^\W\d_]+,?)?\s+for\s+(the\s+|this\s+|making\s+the\s+)?(intro|introduction|connecting|connection)", "thanks for the intro"),
    # ("Moving myself to bcc" is the introducer stepping out of their own introduction.)
    ("bcc", r"\b(moving|move|moved|putting)\s+(?!(myself|me)\b)[^\n]{0,40}\bto\s+bcc\b|\(\s*bcc['’]?d\s*\)|(?<!myself )(?<!me )\bto\s+bcc\b", "moves the introducer to bcc"),
)
# The contact writing first at the introducer's suggestion, introducing themselves:
# the recipient in Cc is the introducer, not someone to meet.
SELF_INTRO = Phrase(
    r"\bintroduc(e|ing)\s+myself\b|\b(suggested|told\s+me)\s+(that\s+)?i\s+(should\s+)?(reach\s+out|get\s+in\s+touch|contact|e-?mail|write)",
    keys=("myself", "suggested", "told me"),
)
# How a sender hands over someone to contact.
REFERRAL = _family(
    ("reach|you should|you could|you can|whom", r"\breach(ing)?\s+out\s+(to\b|anytime|directly)|\bwhom?\s+you\s+(should|could|can)\s+(reach|contact|talk)", "phrase 'reach out to'"),
    ("touch|hold of", r"\b(get|getting|be|got)\s+in\s+touch\s+with\b|\b(get|getting|got)\s+(a\s+)?hold\s+of\b", "phrase 'get in touch with'"),
    ("talk|speak|chat", r"\b(talk|speak|chat)\s+(to|with)\b", "phrase 'talk to'"),
    ("word with|chat with|yarn with|natter with", r"\b(have|grab)\s+a\s+(quick\s+)?(word|chat|natter|yarn)\s+with\b", "phrase 'have a word with'"),
    ("connect", r"\bconnect(ing)?\s+with\b|\bconnection\s+request\b", "phrase 'connect with'"),
    ("sent you|mention|my name|use me|drop me", r"\btell\s+\w+\s+(that\s+)?\w+\s+sent\s+you\b|\b(mention|use|drop)\s+(me|my\s+name)\b|\bsay\s+i\s+sent\s+you\b", "phrase 'tell them I sent you'"),
    ("mentioned|promised|talked about|told you about|worth", r"\b(the\s+[^\W\d_]+|someone)\s+(i|we)\s+(mentioned|promised|talked\s+about|told\s+you\s+about)\b|"
     r"\bworth\s+(reaching\s+out\s+to|talking\s+to|contacting|a\s+(note|message|call|e-?mail|ping))\b", "names the person to contact"),
    ("you should|you need|you have to|you must|you ought|you might want", r"\byou\s+(really\s+)?(should|need\s+to|have\s+to|must|ought\s+to|might\s+want\s+to)\s+(meet|talk\s+to|speak\s+(to|with)|contact|e-?mail|call|ring|reach\s+out|get\s+in\s+touch|connect)\b", "phrase 'you should meet X'"),
    ("recommend|suggest", r"\brecommend\s+(that\s+)?you\s+(contact|reach|talk|speak|e-?mail|call)\b|\bsuggest\s+(connecting|reaching|talking|contacting|you\s+(contact|reach|talk))\b", "recommends a contact"),
    ("meet|about you", r"\bask\s+(if\s+you\s+can|to)\s+meet\b|\bi\s+(spoke|talked)\s+(with|to)\b[^.]{0,60}\babout\s+you\b", "phrase 'ask to meet'"),
    ("my way|have |up for|expecting", r"\bsend\s+\w+\s+my\s+way\b|\bhave\s+\w+\s+(reach\s+out|contact\s+me|call\s+me|e-?mail\s+(me|us))\b|\bup\s+for\s+a\s+(chat|call|coffee)\b|\bexpecting\s+(your|to\s+hear)\b", "contact agreed to hear from me"),
    ("person to|told him|told her|told them", r"\b(best|right)\s+person\s+to\s+(ask|talk\s+to|contact|speak\s+(to|with))\b|"
     r"\btold\s+(him|her|them)\s+(that\s+)?you\s+(might|would|will|may)\s+(write|reach|e-?mail|call|contact|get\s+in\s+touch)\b", "names the person to contact"),
    ("happy to|glad to|keen to", r"\b(happy|glad|keen)\s+to\s+(chat|talk|help|meet|speak)\s+with\b", "contact agreed to hear from me"),
    # The contact, in a forwarded reply: "tell Jordan to write to me", "have her email me".
    ("tell", r"\btell\s+\w+\s+to\s+(write|e-?mail|call|ring|text|reach\s+out|contact|get\s+in\s+touch)\b", "contact agreed to hear from me"),
    ("know", r"\bi\s+(only\s+)?know\s+(one|someone|somebody|a\s+(person|guy|woman|few\s+people))\b", "phrase 'I know someone'"),
    ("drop|shoot|send", r"\b(drop|shoot|send)\s+(him|her|them)\s+a\s+(line|note|message|mail|email)\b", "phrase 'drop them a line'"),
    # A contact verb and a name: "Ping Lisa Tran", "you should email Paul", "give Mark a ring".
    ("ping|mail|contact|call|text|message|try|ring|reach|write|dm", r"\b(ping|e-?mail|contact|call|text|message|try|ring|reach|write\s+to|dm|inmail)\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+(\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)?\s*(\(|<|at\b|on\b|[-–—,])", "phrase 'contact X'"),
    ("give", r"\bgive\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+(\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)?\s+a\s+(call|ring|shout|buzz|text)\b", "phrase 'give X a call'"),
)
_DETAILS = r"(e-?mail(\s+address)?|address|number|cell|phone|mobile|linkedin|profile|info|details|contact\s+info)\s*(is|:)"
_DETAILS_KEYS = "mail|address|number|cell|phone|mobile|linkedin|profile|info|details|contact"
# Contact details handed over: a referral only where the talk is about work (see JOB_CONTEXT).
REFERRAL_WEAK = _family(
    ("him|her|them", r"\b(contact|e-?mail|call|text|ping|message|telephone|phone|ring)\s+(him|her|them)\b|\bgive\s+(him|her|them)\s+a\s+(call|ring|shout|text|bell|buzz)\b", "phrase 'contact him/her'"),
    # One pattern as two phrases: "his number is" is looked for only where "his", "her" or "their"
    # is (see `phrases`), "Ana's number is" (which may begin at any word) by a plain search.
    (_DETAILS_KEYS, rf"\b(his|her|their)\s+{_DETAILS}", "gives contact details"),
    (_DETAILS_KEYS, rf"\b[^\W\d_]+['’]s\s+{_DETAILS}", "gives contact details"),
    ("here", r"\bhere['’]?s\s+(his|her|their|[^\W\d_]+['’]s)\s+(e-?mail|number|cell|phone|linkedin|profile|contact)", "gives contact details"),
    ("you can|you could|you should|you might|linkedin", r"\byou\s+(can|could|should|might\s+want\s+to)\s+(e-?mail|reach|call|text|contact|find|message|ping|write\s+to)\b|\blinkedin\s*:", "gives contact details"),
)
# A step in a process already under way (an interview, an offer): asks there are requests, not leads.
PROCESS = Phrase(
    r"\b(interview(s|ing)?|offer|references?|background\s+check|paperwork|next\s+(round|steps?)|your\s+application|"
    r"move\s+forward|take-?home|assessment|start\s+date)\b",
)
# Selling something: a cold sales note asks for a call too, but it is not a request to act on.
# (One pattern as two phrases with its keys: "20% off", which may begin at any number, is
# looked for by a plain search, and only in texts with the word "off".)
SALES = _family(
    ("demo|trial|our |help your|help you and|% off|pricing", (
        r"\b(book|schedule)\s+a\s+demo\b|\bfree\s+trial\b|\bour\s+(new\s+)?(product|platform|solution|tool|software|app|service)s?\b|"
        r"\bhelp\s+(your|you\s+and\s+your)\s+(team|company|business|organi[sz]ation)\b|\bpricing\s+plans?\b"
    ), "selling"),
    ("demo|trial|our |help your|help you and|% off|pricing", r"\b\d+%\s+off\b", "selling"),
)
# Work talk: a referral is about a job search, not about a cousin's new address.
JOB_CONTEXT = Phrase(
    r"\b(hir(e|es|ed|ing)|jobs?|roles?|positions?|opening|team|compan(y|ies)|interview|career|recruit\w*|resume|cv|"
    r"engineer\w*|analy(st|sts|tics)|data|manager|director|vp|head\s+of|lead(s|er)?|works?\s+(at|for|on)|joined|startup|"
    r"industry|opportunit(y|ies)|portfolio|colleague|network|chat|coffee|advice|intro(duction)?|"
    r"platform|product|business|firm|employer|department|agency|clients?|(co-?)?founder|ceo|cto|cfo|coo|built|runs|tech(nology)?)\b",
)
# The sender promising to do something themselves ("I'll reach out to Tom"): not a referral yet.
PROMISE = Phrase(
    r"\b(i['’]ll|i\s+will|let\s+me|i['’]m\s+going\s+to|i['’]d\s+be\s+happy\s+to|(?<!\bis\s)(?<!['’]s\s)(?<!\bare\s)(?<!\bwas\s)happy\s+to)\s+(\w+\s+){0,2}?"
    r"(reach\s+out|talk|speak|e-?mail|ping|ask|introduce|connect|loop|check|send|forward|put\s+you)\b[^.!?\n]*[.!?]?",
    keys=("i'll", "i’ll", "i will", "let me", "going to", "happy to"),
)
# A forwarder saying whose introduction it really is ("on behalf of Ana", "Ana asked me to pass this on").
ON_BEHALF = Phrase(
    r"\bon\s+behalf\s+of\s+(?:my\s+\w+\s+)?(?P<a>(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)|"
    r"\b(?P<b>(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)(?:\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)?\s+asked\s+me\s+to\s+(?:forward|pass|send|share)",
    keys=("behalf", "asked me"),
)
# A person telling me about an opening.
LEAD = _family(
    ("hiring|recruit", r"\b(is|are|am|['’]re|['’]m|['’]s|been|still|now)\s+(hiring|recruiting)\b|\bhiring\s+(a|an|for)\b|\brecruit(ing)?\s+for\b", "phrase 'hiring'"),
    ("open|vacanc|headcount|went up", r"\b(opening|openings|vacanc(y|ies)|open\s+(role|position|req|spot|seat)|spot\s+open|headcount)\b|\b(just\s+)?opened\s+(up\s+)?(a|an)\b|\b(role|req|job|posting)\s+(just\s+)?(went\s+up|opened)\b", "phrase 'opening'"),
    ("role|position|job|opportunit", r"\b(role|position|job|opportunity)\s+(at|with|on)\b|\bthe\s+(role|position|job|opening)\s+(is|would\s+be)\b|\b(new|open|great|exciting)\s+(role|position|job|opportunity)\b", "names a role"),
    ("open|post|advertis", r"\b(open|opening|post|posting|advertis(e|ing))\s+(up\s+)?(a|an)\s+([^\W\d_]+\s+){0,4}(role|position|job|req|vacancy)\b", "phrase 'opening'"),
    ("post", r"\bpost(ed|ing)\b[^.\n]{0,40}\b(job|role|position|opening)\b|\b(job|role)\s+post(ing)?\b", "job posting"),
    ("engineer|developer|scientist|analyst|manager|designer|architect|lead", r"\b(looking\s+for|looking\s+to\s+hire|to\s+(find|hire|fill)|seeking|searching\s+for|need|needs|(is|are|['’]re)\s+after)\s+(a|an|another|two|more)\s+([^\W\d_]+\s+){0,4}(engineer|developer|scientist|analyst|manager|designer|architect|lead)s?\b", "phrase 'looking for a <role>'"),
    ("search|req ", r"\b(search|req)\s+for\s+(a|an)\b|\bon\s+(a|an|the)\s+([^\W\d_]+\s+){1,5}search\b", "recruiting search"),
    ("team", r"\b(growing|expanding|building\s+out|scaling(\s+up)?)\s+(the|their|its|our|his|her|my)\s+(\w+\s+){0,2}(team|group|function|department)\b", "team is growing"),
    ("first|founding", r"\b(our|their|his|her|a|an)\s+(first|founding)\s+([^\W\d_]+\s+){0,2}(hire|person|employee|engineer|analyst|scientist)\b", "phrase 'first hire'"),
    ("fit|apply|thought of|right up|worth a", r"\b(great|good|strong|perfect)\s+fit\b|\bapply(ing)?\b|\bthought\s+of\s+(you|u)\b|\bright\s+up\s+(your|ur)\s+(alley|street)\b|\bworth\s+a\s+(look|shot)\b", "suggests applying"),
)
# An opportunity offered outright (a referral, paid work): a lead without naming a role.
LEAD_OFFER = _family(
    ("refer you|recommend you|name forward|your resume|your cv|recruiter|referr", r"\b(refer|recommend)\s+you\b|\b(put|list)\s+(down\s+)?(my\s+name|me)\s+(down\s+)?as\s+(the\s+|a\s+|your\s+)?referr(er|al)\b|\bput\s+your\s+name\s+forward\b|\bpass\s+(along|on)\s+your\s+(resume|cv)\b|\bi['’]?m\s+a\s+recruiter\b", "offers to refer me"),
    ("budget|paid|consulting|freelance|contract|short|taking on", r"\bbudget\s+for\s+(a|an)\s+(short\s+|small\s+|paid\s+)?(engagement|project|contract)\b|\b(paid|consulting|freelance|contract)\s+(engagement|gig|opportunity)\b|"
     r"\bshort\s+(engagement|contract|gig)\b|\btaking\s+on\s+(new\s+)?(clients|projects|work)\b", "offers paid work"),
    ("someone to", r"\blooking\s+for\s+someone\s+to\s+(help|work|lead|build|join|run)\b", "looking for someone like me"),
)
# What follows an ask's verb: something to act on, not just another word.
_OBJECT = (r"(me|us|your|my|a|an|the|this|that|these|those|it|them|him|her|both|back|over|along|through|out|up|"
           r"in|on|by|to|with|and|some|any|all|two|three|\d+|here|online|now|know)")
# Asks: what the sender wants me to do.
ASK = _family(
    ("you|u ", r"\b(could|can|would|will)\s+(you|u)\s+(please\s+|possibly\s+|also\s+)?(send|share|forward|fill|complete|call|give|book|schedule|pick|grab|set\s+up|sign|submit|review|confirm|reply|provide|email|e-mail|text|let\s+me\s+know|get\s+back|put\s+together|write|update|check|find|make|do|return|upload|bring|prepare|walk|join|register|read|take\s+a\s+look|look\s+over|introduce|rsvp)\b", "asks 'could you ...'"),
    # "please" and a verb with something to act on ("please send me", "please pick a slot", "please apply.").
    # "let" says whom and what: "please let me know by Friday" asks something, "please let." or
    # "please let me know." alone does not.
    ("please", r"\bplease\s+((send|share|forward|fill|complete|call|give|book|schedule|pick|grab|set\s+up|sign|submit|review|confirm|reply|provide|email|e-mail|text|get\s+back|find|apply|do|make|return|upload|bring|prepare|register|read|take|look|rsvp)"
     rf"(\s+{_OBJECT}\b|\s*[.!?]|\s*$)|let\s+(me|us|him|her|them)\s+[^\W\d_]+\s+\w)", "asks 'please ...'"),
    ("send|share|forward|grab|book|pick|reply|call|text|mail|fill|sign|submit|apply", r"(^|[.!?]\s+|[-–—]\s+|,\s+)(just\s+)?(send|share|forward|grab|book|pick|reply|call|text|email|e-mail|fill\s+out|sign|submit|apply)\s+(me|us|your|my|a|an|any|the|both|it|over|through|with|him|her)\b", "imperative ask"),
    ("like you|need", r"\b(i['’]?d|i\s+would|we['’]?d|we\s+would)\s+like\s+you\s+to\b|\b(i|we)\s+need\s+(you\s+to|a\s+copy|your)\b", "states what they need from me"),
    ("best|free|available|have|what time|what day|works|availability", r"\b(what['’]?s|what\s+would\s+be|what\s+is)\s+the\s+best\s+(number|time|way|email)\b|\b(would|do)\s+you\s+have\s+(\d+|a\s+few|some|time)\b|\bwhen\s+(are\s+you|would\s+you\s+be)\s+(free|available)\b|"
     r"\bwhat\s+(times?|days?)\s+(work|suit|would\s+work)\b|\bwhen\s+works\s+(for|best\s+for)\s+you\b|\byour\s+availability\b", "asks for contact or time"),
    ("did you", r"\bdid\s+you\s+(ever\s+)?(get\s+a\s+chance|manage)\s+to\b", "asks for something promised"),
    ("mind|if you could|let me know", r"\b(would|do)\s+you\s+mind\s+\w+ing\b|\bmind\s+sending\b|\b(it\s+would\s+be\s+(great|helpful)|i['’]?d\s+appreciate\s+it)\s+if\s+you\s+could\b|"
     r"\blet\s+me\s+know\s+(your\s+availability|when\s+you['’]?re\s+(free|available)|a\s+good\s+time|what\s+works)\b", "asks 'would you mind ...'"),
    ("open to|available to|would you be|interest|let me know", r"\b(open|available)\s+to\s+(a\s+)?(chat|chatting|call|talk|talking|meet)|\bwould\s+you\s+be\s+(open|interested|up)\b|\bany\s+interest\b|\blet\s+me\s+know\s+(either\s+way|if\s+you['’]?re\s+interested|what\s+you\s+think)\b", "asks if I am interested"),
    ("can we|could we|shall we", r"\b(can|could|shall)\s+we\s+((jump|hop|get)\s+on\s+a\s+(quick\s+)?(call|zoom|video)|(set\s+up|schedule|book|arrange|find)\s+(a|some)\s+(quick\s+)?(time|call|chat|meeting))\b", "asks to meet"),
    ("grab|get|are you", r"\b(want|like|love)\s+to\s+(grab|get)\s+(a\s+)?(coffee|call|lunch|drink)\b|\bare\s+you\s+(free|around|available)\b", "asks to meet"),
)


_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|hiya|greetings|good\s+(?:morning|afternoon|evening))\b[ \t,]*(?P<who>[^,!:.\n—–-]{0,40})"
    r"|(?P<alone>[^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*)?)\s*,\s*$)",
    _I,
)
# Salutations to a crowd or a role: what mass mail says where personal mail says a name.
_GROUPS = frozenset("all everyone everybody team folks guys friends colleagues sir sirs madam executive candidate customer member members user".split())


def greeting_target(text: str, my_names: set[str], fold) -> str | None:
    """Whom the text greets: "me", "group" ("Dear all", "Dear Candidate"), "other" ("Simone,"), or None."""
    for index, line in enumerate([ln for ln in text.split("\n", 6) if ln.strip()][:3]):
        found = _GREETING.match(line)
        if not found or (found.group("alone") and index > 0):
            continue  # a bare "Name," greets only as the first line ("Best," closes)
        who = (found.group("who") or found.group("alone") or "").strip()
        if not who or who.lower() in ("there", "you", "both", "you both", "you two"):
            return None  # neutral, or both of us (an introduction thread)
        words = {fold(w) for w in re.split(r"[\s&]+|\band\b", who) if w}
        if words & my_names:
            return "me"
        return "group" if words & _GROUPS else "other"
    return None


@lru_cache(maxsize=64)
def me_patterns(first: str) -> Family:
    """Ways a third party presents me to someone else ("meet Jordan", "Jordan is a ...")."""
    name = re.escape(first)
    key = first.lower()
    return _family(
        (key, rf"\b(meet|introduce|introducing|here['’]?s|this\s+is)\s+{name}\b", f"presents {first}"),
        (key, rf"\b{name}\s+(is|was|has|had|knows|spent|built|would|and\s+i\b|asked|mentioned)\b", f"describes {first} to the other person"),
    )


def first_match(text: str, family: Family) -> str | None:
    hit = family.first(probe_of(text))
    return hit[1].label if hit else None


def all_matches(text: str, family: Family) -> list[str]:
    return family.labels(probe_of(text))
