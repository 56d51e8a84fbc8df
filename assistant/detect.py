"""Detection: is a message an introduction, a referral, a lead or a request, and who is in it.

The order of checks is the order of cost and of certainty: mail from me and mail
from machines (headers only) are settled first; then the body is split into the
sender's new text, their signature and any forwarded message (quotes of earlier
replies are dropped); then the kinds are tried from the most specific (an
introduction names a recipient) to the least (a request only asks something).
Every decision leaves its evidence in `reasons`; `confidence` grows with the
number of independent signals (see `_confidence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import cues
from .contacts import contacts_in_text
from .asks import find_asks, without_promises
from .jobs import ROLE_WORDS, find_role, fullest, nearest_org, org_for_domain
from .mail import Detection, Mail, Person, Request
from .mime import raw_from_bytes
from .parse import parse
from .people import (
    address_name, clean_name, first_name, fold, has_ascii_letter, local_tokens, name_matches_address, name_runs, words,
)
from .phrases import joined, read_all
from .quotes import Quoted, quoted_lines, split_quotes, split_signature_lines, unwrapped_lines
from .senders import automated_reason, bulk_text_reason, is_role_address

MAX_SCAN_CHARS = 16 * 1024  # how much of a body is split into new text, quotes and forwards: the new text and the messages it answers
MAX_CONTACTS = 8  # an introduction or referral names a few people; more is a group mail
MAX_SUBJECT_CHARS = 300  # a real subject is shorter; _SUBJECT_PAIR is quadratic on a hostile one
MAX_NEW_CHARS = 4 * 1024  # how much new text is read: an introduction or an ask is a few hundred characters
_FORWARD_SUBJECT = re.compile(r"^\s*(re:\s*)?(fwd?|fw|tr|wg|rv|enc)\s*:", re.IGNORECASE)
_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|antw|r)\s*:", re.IGNORECASE)
_SUBJECT_PAIR = re.compile(r"\S\s*(<>|<->|/|\+|&)\s*\S.*\b(intro|meet)|(intro|meet)\b.*\S\s*(<>|<->)\s*\S|\S\s*<>\s*\S", re.IGNORECASE)
_JOB_LINK = re.compile(r"https?://\S*(job|career|boards?|apply|lever|greenhouse|workday|opening)\S*", re.IGNORECASE)


@dataclass(slots=True)
class Context:
    """What the kinds are decided from: the message, its new text and the people in it."""

    mail: Mail
    me: frozenset[str]
    my_names: set[str]  # folded first and full names of the user
    my_first: str  # the user's first name as written ("Jordan"), "" when unknown
    sender: Person
    others: list[Person]  # To/Cc recipients other than me, the sender and robots
    new: str  # the sender's new text, without quotes or signature
    signature: str
    forwards: list[Quoted] = field(default_factory=list)  # forwarded messages, signatures split off
    forward_signatures: list[str] = field(default_factory=list)
    history: str = ""  # the quoted earlier messages of a reply: never a new kind, but may name the company
    asks: list[tuple[Request, str]] | None = None  # what the new text asks of me, once worked out
    personal: bool | None = None  # whether the new text is written to me, once worked out (see `_to_me_personally`)

    @property
    def body(self) -> str:
        return joined([self.new, *(q.text for q in self.forwards)])

    def is_me(self, person: Person) -> bool:
        """One of my addresses, or my full name on another address (my old work account)."""
        if _is_mine(person.email, self.me):
            return True
        name = fold(clean_name(person.name))
        return bool(name) and name in self.my_names and " " in clean_name(person.name)


def classify_bytes(data: bytes, me) -> Detection:
    """A whole message file (RFC 5322 bytes) to a Detection; never raises."""
    try:
        mail = parse(raw_from_bytes(data))
    except Exception as exc:  # noqa: BLE001 - a scan must survive any input
        return Detection(kind="none", reasons=[f"unreadable message: {type(exc).__name__}: {str(exc)[:80]}"])
    return detect(mail, me)


def detect(mail: Mail, me) -> Detection:
    """Decide the kind of `mail` for the user whose addresses are `me` (lower case); never raises."""
    try:
        return _detect(mail, frozenset(a.strip().lower() for a in me))
    except Exception as exc:  # noqa: BLE001 - a bug on one odd message must not stop a scan
        return Detection(kind="none", reasons=[f"detection failed: {type(exc).__name__}: {str(exc)[:80]}"])


def _none(reason: str, confidence: float) -> Detection:
    return Detection(kind="none", confidence=confidence, reasons=[reason])


def detect_from_headers(mail: Mail, me) -> Detection | None:
    """The verdict the headers alone give (mail from me, from a machine or a list), or
    None when the text must be read: a scan can skip fetching the body of most mail."""
    me = me if isinstance(me, frozenset) else frozenset(a.strip().lower() for a in me)
    if mail.sender is not None and _is_mine(mail.sender.email, me):
        return _none("mail from me", 0.99)
    reason = automated_reason(mail)
    if reason:
        return _none(reason, 0.95)
    if not any(_is_mine(p.email, me) for p in (*mail.to, *mail.cc)):
        # Bcc'd mass mail, a list without list headers, undisclosed recipients.
        return _none("not addressed to me (To/Cc)", 0.85)
    return None


def _is_mine(email: str | None, me: frozenset[str]) -> bool:
    """One of my addresses, also with a "+tag" ("jordan+jobs@x" is jordan@x)."""
    if not email:
        return False
    if email in me:
        return True
    local, _, domain = email.partition("@")
    return "+" in local and f"{local.split('+', 1)[0]}@{domain}" in me


def _detect(mail: Mail, me: frozenset[str]) -> Detection:
    verdict = detect_from_headers(mail, me)
    if verdict is not None:
        return verdict
    ctx = _context(mail, me)
    reason = bulk_text_reason(ctx.new, ctx.signature)
    if reason:
        return _none(reason, 0.9)
    for step in (_introduction, _referral, _lead, _request):
        found = step(ctx)
        if found is not None:
            if len(found.contacts) > MAX_CONTACTS:
                # Each contact becomes a task and a draft: a crowd is a group mail, and a
                # hostile one must not fill the Drafts folder.
                return _none(f"{len(found.contacts)} people to contact: a group mail, not a personal {found.kind}", 0.7)
            return _complete(found, ctx)
    return _none("no introduction, referral, lead or request found", 0.8)


def _context(mail: Mail, me: frozenset[str]) -> Context:
    text = mail.text[:MAX_SCAN_CHARS]
    is_forward = bool(_FORWARD_SUBJECT.match(mail.subject)) or bool(mail.forwarded)
    split = split_quotes(text, is_forward)
    sender = _named(mail.sender, split.new)
    new, signature = split_signature_lines(unwrapped_lines(split.new[:MAX_NEW_CHARS]), _sign_names(sender))
    forwards, forward_signatures = [], []
    attached = [Quoted(True, f.sender, f.to, f.cc, f.subject, f.text[:MAX_SCAN_CHARS]) for f in mail.forwarded]
    for quoted in [q for q in split.quoted if q.forwarded] + attached:
        lines = unwrapped_lines(split_quotes(quoted.text).new[:MAX_NEW_CHARS])
        body, sig = split_signature_lines(lines, _sign_names(quoted.sender) if quoted.sender else ())
        forwards.append(Quoted(True, quoted.sender, quoted.to, quoted.cc, quoted.subject, body))
        forward_signatures.append(sig)
    my_names, my_first = _my_names(mail, me, forwards)
    history = "\n".join(q.text for q in split.quoted if not q.forwarded)
    ctx = Context(mail, me, my_names, my_first, sender, [], new, signature, forwards, forward_signatures, history)
    seen = {sender.email}
    for person in (*mail.to, *mail.cc):
        if person.email not in seen and not ctx.is_me(person) and not is_role_address(person.email):
            seen.add(person.email)
            ctx.others.append(_named(person, text))
    return ctx


def _sign_names(person: Person) -> tuple[str, ...]:
    first = first_name(person).lower()
    full = clean_name(person.name).lower()
    return tuple(n for n in (first, full) if n)


def _named(person: Person, text: str) -> Person:
    """The person with a usable name: the display name, else the name in the text that owns the address."""
    name = clean_name(person.name)
    if name and has_ascii_letter(name):
        return Person(name, person.email)
    runs = [run for run, _, _ in name_runs(text[:20000])]
    owners = [run for run in runs if name_matches_address(run, person.email)]
    if owners:
        return Person(max(owners, key=len), person.email)
    tokens = local_tokens(person.email)
    for run in runs:
        # "Min-jun" in the text and minjun.cho@: the text's spelling, the address's last name.
        if tokens and " " not in run and fold(run) == tokens[0] and len(tokens) > 1:
            return Person(" ".join([run, *(t.capitalize() for t in tokens[1:])]), person.email)
    return Person(name or address_name(person.email or "") or first_name(person), person.email)


def _my_names(mail: Mail, me: frozenset[str], forwards: list[Quoted]) -> tuple[set[str], str]:
    names: set[str] = set()
    first = ""
    people = [*mail.to, *mail.cc, *(p for q in forwards for p in (*q.to, *q.cc))]
    for person in people:
        if person.email in me and clean_name(person.name):
            name = clean_name(person.name)
            names.update({fold(name), fold(name.split()[0])})
            first = first or name.split()[0]
    for address in me:
        tokens = local_tokens(address)
        if len(tokens) >= 2:
            names.update({tokens[0], "".join(tokens)})
            first = first or tokens[0].capitalize()
    return names, first


def _introduction(ctx: Context) -> Detection | None:
    """A recipient other than me, named in the text, with wording that introduces us."""
    if not ctx.others:
        return None
    if cues.first_match(ctx.new, cues.INTRO_REPLY) or _writes_first(ctx.new):
        return None  # the contact answering an introduction, or writing first: not a new one
    body = ctx.body
    reasons = cues.all_matches(body, cues.INTRO)
    strong = bool(reasons)
    subject = ctx.mail.subject[:MAX_SUBJECT_CHARS]
    if not _REPLY_SUBJECT.match(subject) and (
        cues.first_match(subject, cues.INTRO) or _SUBJECT_PAIR.search(subject) or _names_paired(subject, ctx)
    ):
        reasons.append("subject announces an introduction")
        strong = True
    weak = cues.all_matches(body, cues.INTRO_WEAK)
    if not (strong or weak):
        return None  # the score below would be at most 1: how I am presented need not be looked for
    presents = cues.all_matches(body, cues.me_patterns(ctx.my_first)) if ctx.my_first else []
    score = 2 * strong + bool(weak) + bool(presents)
    if score < 2:
        return None
    seen = words(body)
    forward_senders = {q.sender.email for q in ctx.forwards if q.sender}
    contacts = [p for p in ctx.others if _mentioned(p, seen) or p.email in forward_senders]
    if not contacts:
        if not (strong and len(ctx.others) == 1):
            return None
        contacts = list(ctx.others)
        reasons.append("only other recipient")
    where = "To" if any(p.email == c.email for c in contacts for p in ctx.mail.to) else "Cc"
    reasons = [f"{where} contains the introduced person", *reasons, *weak, *presents]
    contacts = [_named(c, "\n".join([body, *ctx.forward_signatures])) for c in contacts]
    return Detection(kind="introduction", contacts=contacts, reasons=reasons, confidence=_confidence(score + (where == "Cc")))


def _writes_first(text: str) -> bool:
    """The contact introducing themselves at someone's suggestion ("Priya suggested I reach out")."""
    return bool(cues.SELF_INTRO.search(text))


def _names_paired(subject: str, ctx: Context) -> bool:
    """A subject pairing my name with another recipient's: "Jordan / Ana", "Kim + Jordan"."""
    if not _PAIR_MARK.search(subject):
        return False
    seen = words(subject)
    return bool(seen & ctx.my_names) and any(_mentioned(p, seen) for p in ctx.others)


_PAIR_MARK = re.compile(r"<>|<->|\s[/+&x]\s|\w/\w|\band\b", re.IGNORECASE)


def _mentioned(person: Person, seen: set[str]) -> bool:
    first = fold(first_name(person))
    tokens = local_tokens(person.email)
    return bool(first and first in seen) or bool(tokens and len(tokens[0]) > 2 and tokens[0] in seen)


def _referral(ctx: Context) -> Detection | None:
    """Someone to contact who is not a recipient: forwarded introductions, names with addresses, phones, profiles."""
    for quoted in ctx.forwards:
        if cues.first_match(quoted.text, cues.INTRO) or cues.first_match(quoted.subject, cues.INTRO):
            contacts = [
                _named(p, quoted.text) for p in (*quoted.to, *quoted.cc)
                if not ctx.is_me(p) and p.email != ctx.sender.email and not is_role_address(p.email)
                and not (quoted.sender and p.email == quoted.sender.email)
            ]
            if contacts:
                return Detection(kind="referral", contacts=contacts, confidence=_confidence(3),
                                 reasons=["forwarded introduction", "introduced person is not a recipient"])
    # What the sender promises to do ("I'll reach out to Tom") hands nobody over yet.
    texts = [without_promises(ctx.new), *(q.text for q in ctx.forwards)]
    found_cues = [label for text in texts for label in cues.all_matches(text, cues.REFERRAL)]
    if not found_cues:
        # Only contact details ("his email is ..."): a referral if the talk is about work.
        found_cues = [label for text in texts for label in cues.all_matches(text, cues.REFERRAL_WEAK)]
    # Someone to talk to about a wedding or a dinner is not a referral: the talk must be about work.
    work = [ctx.mail.subject, *texts, ctx.signature]
    if not found_cues or not any(cues.JOB_CONTEXT.search(t) or nearest_org(t, 0, ctx.my_names) for t in work):
        return None
    new_words = words(ctx.new)
    offered = [
        q.sender for q in ctx.forwards
        if q.sender and not ctx.is_me(q.sender) and not is_role_address(q.sender.email)
        and (fold(ctx.my_first) in words(q.text) or _mentioned(q.sender, new_words))
    ]
    contacts = contacts_in_text(texts, offered, [ctx.sender, *ctx.others], ctx.my_names)
    if not contacts:
        return None
    given = "contact given with an address" if any(c.email for c in contacts) else "contact given without an address"
    reasons = ["contact is not a recipient", given, *dict.fromkeys(found_cues)]
    return Detection(kind="referral", contacts=contacts, reasons=reasons, confidence=_confidence(2 + len(set(found_cues))))


def _selling(text: str) -> bool:
    return cues.first_match(text, cues.SALES) is not None


def _to_me_personally(ctx: Context) -> bool:
    """Not greeting someone else ("Simone,") or a crowd ("Dear all", "Hi friends"); worked out once a message."""
    if ctx.personal is None:
        ctx.personal = cues.greeting_target(ctx.new, ctx.my_names, fold) not in ("other", "group")
    return ctx.personal


def _lead(ctx: Context) -> Detection | None:
    """A person telling me about an opening, with a company, a role or a job link."""
    # Every message that gets this far has its asks worked out (by `_request`, or as the
    # requests of a lead): looking at them first spares most messages the other two tests.
    if _asks(ctx) and (cues.PROCESS.search(ctx.new) or cues.first_match(ctx.new, cues.INTRO_REPLY)):
        return None  # a next step in a process or an introduction thread: a request
    body = ctx.body
    offers = cues.all_matches(body, cues.LEAD_OFFER)
    found = [*cues.all_matches(body, cues.LEAD), *offers]
    link = _JOB_LINK.search(body) if found else None
    if not [c for c in found if c != "suggests applying"] and not (found and link):
        return None  # "apply" or "thought of you" alone is a lead only with a job link
    # Whom the text greets is worked out only here: most mail has no lead wording, and `_request`
    # needs the greeting only when something is asked.
    if not _to_me_personally(ctx):
        return None
    subjects = [ctx.mail.subject, *(q.subject for q in ctx.forwards)]
    role = find_role(body, *subjects, heads=True)
    org = nearest_org(body, 0, set()) or nearest_org("\n".join(subjects), 0, set()) or _own_org(ctx, set())
    if not (offers or role or org or link or ROLE_WORDS.search(body)):
        return None  # "hiring" with no company, role or link: too vague to act on
    reasons = [*found, *(["names the role"] if role else []), *(["names the company"] if org else []), *(["job link"] if link else [])]
    return Detection(kind="lead", role=role, reasons=reasons, confidence=_confidence(len(found) + bool(role) + bool(org) + bool(link)))


def _request(ctx: Context) -> Detection | None:
    """Something asked of me in the new text, by a person writing to me (not "Dear all")."""
    asks = _asks(ctx)
    if not asks or not _to_me_personally(ctx) or _selling(ctx.new):
        return None
    labels = list(dict.fromkeys(label for _, label in asks))
    return Detection(kind="request", reasons=labels, confidence=_confidence(1 + len(asks)))


def _asks(ctx: Context) -> list[tuple[Request, str]]:
    """What the new text asks of me (worked out once a message)."""
    if ctx.asks is None:
        ctx.asks = find_asks(ctx.new, ctx.mail.date, ctx.my_names, [fold(first_name(p)) for p in ctx.others])
    return ctx.asks


def _complete(found: Detection, ctx: Context) -> Detection:
    """Add what every kind shares: the referrer, the requests, the company and the role."""
    found.referrer = _referrer(ctx)
    if found.referrer is not ctx.sender:
        found.reasons.append(f"forwarded on behalf of {found.referrer.name}")
    found.contacts = [c for c in found.contacts if not ctx.is_me(c) and c.email != ctx.sender.email]
    found.requests = [r for r, _ in _asks(ctx)]
    company = _company(found, ctx)
    found.company = company and fullest(company, [ctx.mail.subject, ctx.body])
    if found.role is None:
        # A request's body names its asker's colleagues ("our Head of Engineering"): only its subject names the role.
        found.role = find_role(ctx.mail.subject) if found.kind == "request" else find_role(ctx.body, ctx.mail.subject)
    if found.kind in ("introduction", "referral") and not found.contacts:
        return _none("no contact left after removing me and the sender", 0.6)
    return found


def _referrer(ctx: Context) -> Person:
    """The sender, or for a forward the person the text says it comes from ("on behalf of Ana")."""
    found = ctx.forwards and cues.ON_BEHALF.search(ctx.new)
    if found:
        name = fold(found.group("a") or found.group("b"))
        for quoted in ctx.forwards:
            if quoted.sender and not ctx.is_me(quoted.sender) and fold(first_name(quoted.sender)) == name:
                return _named(quoted.sender, quoted.text)
    return ctx.sender


def _company(found: Detection, ctx: Context) -> str | None:
    """The contact's organisation, the hiring one, or the asker's: whichever the kind is about."""
    subjects = [ctx.mail.subject, *(q.subject for q in ctx.forwards)]
    everywhere = [ctx.body, *subjects, *ctx.forward_signatures, ctx.signature]
    names = {fold(p.name) for p in (*found.contacts, ctx.sender, *ctx.others) if p.name} | ctx.my_names
    for contact in found.contacts:
        org = org_for_domain(everywhere, contact.email)
        if org:
            return org
    body = ctx.body
    if found.kind in ("introduction", "referral"):
        first = found.contacts[0].name.split()[0] if found.contacts and found.contacts[0].name else ""
        pos = body.find(first) if first else -1
        return nearest_org(body, max(pos, 0), names)
    if found.kind == "lead":
        pos = body.find(found.role) if found.role else 0
        return (nearest_org(body, max(pos, 0), names) or nearest_org("\n".join(subjects), 0, names)
                or _own_org(ctx, names))  # a recruiter's own company last
    found_org = org_for_domain([*everywhere, ctx.history[:8000]], ctx.sender.email)
    if not found_org and ">" in ctx.mail.text:  # the asker's organisation named only in the ">"-quoted thread
        found_org = org_for_domain([quoted_lines(ctx.mail.text[:MAX_SCAN_CHARS])], ctx.sender.email)
    return found_org or nearest_org(ctx.signature, 0, names)


def _own_org(ctx: Context, names: set[str]) -> str | None:
    """The sender's organisation as their signature names it ("Co-founder, Quetzal"): who is hiring when "we" are."""
    return org_for_domain([ctx.signature], ctx.sender.email) or nearest_org(ctx.signature, 0, names)


_CONFIDENCE = (0.0, 0.55, 0.7, 0.8, 0.85, 0.9)


def _confidence(score: int) -> float:
    """Independent signals to a probability-like figure: one 0.55, two 0.7, three 0.8, up to 0.95.

    One signal alone stays under a rule's usual 0.6; two agreeing signals clear it.
    """
    return _CONFIDENCE[score] if score < len(_CONFIDENCE) else 0.95


def read_phrases() -> None:
    """Read every cue phrase now (about 40 ms) rather than on its first use: a process
    about to fork detection workers does it once for all of them."""
    read_all()
