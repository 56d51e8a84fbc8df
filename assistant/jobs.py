"""Which organisation and which position a message is about.

Job titles end in a small set of nouns ("Engineer", "Analyst", ...), and organisations
are capitalised names after "at", "with", "joined" or before "is hiring", or the
name on a signature line ("Director of Data | Harbor & Vine").  An organisation
that matches a contact's mail domain (Pinecone Energy, nina@pineconeenergy.example)
is preferred: that is the contact's company.
"""

from __future__ import annotations

import re

from .people import fold

_ROLE_NOUN = r"(?:Engineer|Developer|Scientist|Analyst|Manager|Designer|Architect|Director|Lead|Recruiter|Consultant|Specialist|Administrator|Researcher|Programmer|Strategist|Officer)"
_CAP = r"(?:[A-Z][\w&/+.-]*|ML|AI|BI|QA)"
_TITLE = rf"(?:(?:Senior|Sr\.?|Staff|Lead|Principal|Junior|Founding|Head\s+of)\s+)?(?:{_CAP}\s+){{0,3}}{_ROLE_NOUN}(?:,\s+{_CAP}(?:\s+{_CAP})?(?=\s+(?:opening|role|position|job|at|on|search)\b))?"
_ROLE = re.compile(
    rf"\b(?:a|an|the|our|my|their|this|for|(?:role|position|title)\s+(?:is|would\s+be))\s+(?:(?:remote|hybrid|new|full-time|contract|open)\s+)?(?P<title>{_TITLE})"
    rf"(?=\s+(?:opening|role|position|job|search|req|at|on|to|in|with|for)\b|\s*[,.(;:!?]|\s+[-–—]\s|\s*$)",
    re.MULTILINE,
)
_ROLE_LINE = re.compile(rf"^\s*(?:new\s+role:\s*)?(?P<title>{_TITLE})\s*(?:\([^)]*\))?\s*$", re.MULTILINE | re.IGNORECASE)
_ORG = r"(?P<org>[A-Z][\w'’-]*(?:[ \t]+(?:&[ \t]+)?(?:\d+[ \t]+)?[A-Z][\w'’-]*){0,3})"
_ORG_AFTER = re.compile(rf"\b(?:at|with|joined|from|for|over\s+at|join|client,?)\s+{_ORG}")
_ORG_BEFORE = re.compile(rf"{_ORG}(?:,?\s+(?:is|are)\s+(?:now\s+|still\s+)?(?:hiring|recruiting|looking|growing|expanding|building|scaling|after)|(?:\s+just)?\s+(?:has|have|opened|posted|listed|announced)\b|['’]s\s+(?:data|engineering|team|work))")
_SIG_ORG = re.compile(rf"^[^|\n]{{2,60}}[|,]\s*{_ORG}\s*$", re.MULTILINE)
_NOT_ORG = frozenset(fold(w) for w in """They We It He She You Hi Hey Thanks Heard Saw Looks Seems Apparently
    Just Also Btw Fyi So Well Oh Ps Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April
    May June July August September October November December LinkedIn I The A An This That My Your Our Data Engineering
    Suite Direct Remote Hybrid VP SVP EVP CEO CTO CFO COO CDO CIO Head Director Founder Cofounder""".split())
_GENERIC_DOMAINS = frozenset("example gmail googlemail yahoo hotmail outlook live icloud me mac aol proton protonmail fastmail gmx mail yandex".split())


# Evidence that a text names a position at all, in any case ("a senior analytics engineer").
ROLE_WORDS = re.compile(rf"\b(?:a|an|the|our|for)\s+(?:[^\W\d_]+\s+){{0,3}}{_ROLE_NOUN}s?\b", re.IGNORECASE)


# A title closing a subject or a labelled line: "Re: Application status - Senior Data Engineer".
_ROLE_TAIL = re.compile(rf"(?:\s[-–—|]|:)\s+(?P<title>{_TITLE})\s*(?:\([^)]*\))?\s*$", re.MULTILINE)


# "a Head of Data Engineering": a title without a role noun.  Only an opening is "a Head of":
# elsewhere "our Head of Data" is a person's title, not the position a message is about.
_ROLE_HEAD = re.compile(
    r"\b(?:a|an)\s+(?P<title>Head[ \t]+of[ \t]+[A-Z][\w'’-]*(?:[ \t]+(?:&[ \t]+)?[A-Z][\w'’-]*){0,2})"
    r"(?=\s+(?:opening|role|position|job|search|req|to|in|at|for)\b|\s*[,.(;:!?]|\s+[-–—]\s|\s*$)",
    re.MULTILINE,
)


def find_role(*texts: str, heads: bool = False) -> str | None:
    """The position named in the first text that names one; `heads`: also "a Head of X" (an opening)."""
    for text in texts:
        found = _ROLE.search(text) or _ROLE_LINE.search(text) or _ROLE_TAIL.search(text) or (heads and _ROLE_HEAD.search(text))
        if found:
            return " ".join(found.group("title").split())
    return None


def _trim(org: str) -> str:
    words = org.split()
    while words and (fold(words[-1]) in _NOT_ORG or words[-1] in ("&",)):
        words.pop()
    while words and fold(words[0]) in _NOT_ORG:
        words.pop(0)
    org = re.sub(r"['’]s$", "", " ".join(words)).strip(" .,'’")
    return org if len(org) > 1 else ""


def domain_label(email: str | None) -> str:
    """The distinctive part of a mail domain: "nina@pineconeenergy.example" -> "pineconeenergy"."""
    if not email or "@" not in email:
        return ""
    labels = email.rsplit("@", 1)[1].lower().split(".")
    label = labels[-2] if len(labels) >= 2 else labels[0]
    return "" if label in _GENERIC_DOMAINS else fold(label)


def org_for_domain(texts: list[str], email: str | None) -> str | None:
    """The organisation whose name spells the address's domain (Harbor & Vine for harborvine.example)."""
    label = domain_label(email)
    if len(label) < 3:
        return None
    found: list[str] = []
    for text in texts:
        if label[:4] not in fold(text):
            continue  # cheap test first: the domain's name is not in this text at all
        for m in _CAP_RUN.finditer(text):
            if label[:3] not in fold(m.group(0)):
                continue  # no part of this run can spell the domain
            words = m.group(0).split()
            # Longest leading part of the run that spells the domain: "Pinecone Energy" in "Pinecone Energy Data".
            for end in range(len(words), 0, -1):
                whole = " ".join(words[:end]).strip(" .,'’")
                org = whole if fold(whole) == label and fold(words[0]) not in _NOT_ORG else _trim(whole)
                folded = fold(org)
                if org and (folded == label or (folded.startswith(label) and end > 1) or (len(folded) >= 4 and label.startswith(folded))):
                    found.append(org)
                    break
    # The fullest form wins: "Fernhill Bio" over a later "at Fernhill".
    return max(found, key=len) if found else None


def fullest(org: str, texts: list[str]) -> str:
    """The longest form of an organisation the texts give: "Ironleaf Games" for "Ironleaf"."""
    longest = org
    for text in texts:
        for m in re.finditer(rf"\b{re.escape(org)}((?:[ \t]+(?:\d+[ \t]+)?[A-Z][\w'’-]*){{1,2}})", text):
            whole = _trim(org + m.group(1))
            if len(whole) > len(longest):
                longest = whole
    return longest


_CAP_RUN = re.compile(r"[A-Z][\w'’-]*(?:[ \t]+(?:&[ \t]+)?(?:\d+[ \t]+)?[A-Z][\w'’-]*){0,3}")


def nearest_org(text: str, pos: int, names: set[str]) -> str | None:
    """The organisation named closest to a position (a contact's name, a role title) in the text."""
    best: tuple[int, str] | None = None
    for regex in (_ORG_AFTER, _ORG_BEFORE, _NAME_COMMA_ORG, _SIG_ORG):
        for m in regex.finditer(text):
            org = _trim(m.group("org"))
            if org and fold(org) not in names and fold(org.split()[0]) not in names:
                distance = abs(m.start("org") - pos) + (0 if m.start("org") >= pos else 40)
                if best is None or distance < best[0]:
                    best = (distance, org)
    return best[1] if best and best[0] < 400 else None


_NAME_COMMA_ORG = re.compile(rf"[A-Z][\w'’-]+ [A-Z][\w'’-]+, {_ORG}(?=[.;\n]|$)", re.MULTILINE)
