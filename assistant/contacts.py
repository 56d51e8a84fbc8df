"""The people a referral hands over, found from what makes them reachable.

A referral names someone with a way to reach them: an address ("Ingrid Solberg
<isolberg@...>", "His email is ..."), a profile link, a phone number, a forwarded
"yes, have Jordan reach out", or just a name after "talk to" / "ask to meet".  Each
anchor is tied to the name nearest to it that plausibly owns it.
"""

from __future__ import annotations

import re

from .mail import Person
from .people import (
    EMAIL, PHONE, PROFILE, address_name, clean_name, fold, local_tokens, name_matches_address, name_runs, slug_name,
)
from .senders import is_role_address

# Words before a capitalised run that make it an organisation, not a person ("now with Bluebird Mobility").
_ORG_BEFORE = re.compile(r"\b(at|with|joined|from|for|of|in|on|to|over)\s*$", re.IGNORECASE)
# Words before a run that make it the person to contact ("talk to Björn Eklund", "the person I mentioned is ...").
_CONTACT_BEFORE = re.compile(
    r"\b(meet|talk\s+to|speak\s+(to|with)|reach\s+out\s+to|contact|connect(ing)?\s+with|get\s+in\s+touch\s+with|"
    r"mentioned\s+is|named|e-?mail|ping|call|text|message|write\s+to|(spoke|spoken|talked)\s+(to|with)|try|dm|inmail|ring|(get|got)\s+(a\s+)?hold\s+of|"
    r"(have|had|grab)\s+a\s+(word|chat|natter|chinwag|yarn)\s+with|look\s+up|drop)\s*[:,]?\s*$",
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]")
# Words that present a person without saying to contact them ("my friend Sara Lopez"): used
# only when the text ties nobody to an address, a profile, a phone or a contact verb.
_PERSON_BEFORE = re.compile(r"\b(colleague|friend|classmate|cousin|roommate|manager|boss|mentor)\s*[:,]?\s*$", re.IGNORECASE)


def contacts_in_text(
    texts: list[str], offered: list[Person], excluded: list[Person], my_names: set[str]
) -> list[Person]:
    """People to contact in `texts`, with an address where the text or a header gives one.

    `offered`: senders of forwarded messages who agreed to hear from me.  `excluded`:
    the sender and the recipients (never a referral's contact).  `my_names`: folded names of the user.
    """
    excluded_mail = {p.email for p in excluded if p.email}
    excluded_names = {fold(clean_name(p.name)) for p in excluded if p.name} | my_names
    known = {p.email: clean_name(p.name) for p in offered if p.email}
    found: list[tuple[int, Person]] = [(-1, Person(clean_name(p.name) or address_name(p.email or ""), p.email)) for p in offered]

    def mine(email: str) -> bool:
        tokens = local_tokens(email)
        return "".join(tokens) in my_names or (len(tokens) >= 2 and tokens[0] in my_names)

    presented: list[tuple[int, Person]] = []
    for text in texts:
        for m in EMAIL.finditer(text):
            email = m.group(0).lower().rstrip(".")
            if email in excluded_mail or is_role_address(email) or mine(email):
                continue
            if any(p.name and name_matches_address(p.name, email) for p in excluded):
                continue  # the sender's (or a recipient's) other address
            found.append((m.start(), Person(known.get(email) or _name_for_address(text, m.start(), m.end(), email), email)))
        for m in PROFILE.finditer(text):
            name = _name_for_slug(text, m.group(1))
            if name:
                found.append((m.start(), Person(name, None)))
        emails_end = [m.end() for m in EMAIL.finditer(text)]
        for m in PHONE.finditer(text):
            if any(0 <= m.start() - end <= 40 and not _LETTERS.search(text, end, m.start()) for end in emails_end):
                continue  # "name, address, phone" or a contact block: the address's owner has the phone
            name = _name_before(text, m.start())
            if name:
                found.append((m.start(), Person(name, None)))
        for run, start, _ in name_runs(text):
            if len(run.split()) >= 2:
                before = text[max(0, start - 30) : start]
                if _CONTACT_BEFORE.search(before):
                    found.append((start, Person(run, None)))
                elif _PERSON_BEFORE.search(before):
                    presented.append((start, Person(run, None)))
    people = _merge([p for _, p in sorted(found, key=lambda x: x[0])], excluded_names)
    return people or _merge([p for _, p in presented], excluded_names)


def _merge(people: list[Person], excluded_names: set[str]) -> list[Person]:
    """One entry a person: an entry with an address absorbs name-only entries of the same person."""
    out: list[Person] = []
    for person in people:
        name = fold(person.name)
        first = fold(person.name.split()[0]) if person.name.split() else ""
        if not name or name in excluded_names or (" " not in person.name.strip() and first in excluded_names):
            continue
        for i, other in enumerate(out):
            other_first = fold(other.name.split()[0]) if other.name.split() else ""
            same = (person.email and person.email == other.email) or name == fold(other.name) or (
                first == other_first and (not person.email or not other.email)
            )
            if same:
                longer = person.name if len(person.name) > len(other.name) else other.name
                out[i] = Person(longer, other.email or person.email)
                break
        else:
            out.append(person)
    return out


def _name_for_address(text: str, start: int, end: int, email: str) -> str:
    window_start = max(0, start - 200)
    runs = name_runs(text[window_start : end + 100])
    owners = [r for r in runs if name_matches_address(r[0], email)]
    if owners:
        return min(owners, key=lambda r: abs(window_start + r[1] - start))[0]
    before = text[max(0, start - 40) : start]
    adjacent = re.search(r"([^\W\d_][\w'’-]*(?:\s[^\W\d_][\w'’-]*){0,2})\s*[<(]\s*$", before)
    if adjacent and adjacent.group(1)[:1].isupper():
        return adjacent.group(1)
    tokens = local_tokens(email)
    return address_name(email) or (tokens[0].capitalize() if tokens else "")


def _name_for_slug(text: str, slug: str) -> str:
    guess = slug_name(slug)
    target = fold(guess)
    for run, _, _ in name_runs(text):
        if fold(run) == target or (target.startswith(fold(run)) and " " in run):
            return run
    return guess


def _name_before(text: str, pos: int) -> str:
    """The person a phone number belongs to: the nearest earlier name not used as an organisation."""
    window_start = max(0, pos - 300)
    window = text[window_start:pos]
    for run, start, end in reversed(name_runs(window)):
        before = window[max(0, start - 30) : start]
        if _ORG_BEFORE.search(before[-12:]) and not _CONTACT_BEFORE.search(before):
            continue
        possessive = window[end : end + 2] in ("'s", "’s")
        if len(run.split()) >= 2 or possessive:
            return run
    return ""
