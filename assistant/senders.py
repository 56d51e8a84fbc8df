"""Who is not a person writing to me: lists, robots, notifications and auto-replies.

These checks read only headers (and the top of the text for bulk-mail wording), so
most mail in an inbox is settled here before any body analysis runs.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .mail import Mail
from .phrases import Phrase, joined

# Local parts that mailboxes of robots and departments use, not people.
_ROLE_LOCAL = re.compile(
    r"^(no-?reply|do-?not-?reply|donotreply|noreply|bounces?|mailer-daemon|postmaster|notifications?|"
    r"notify|alerts?|jobalerts?|jobs|careers|talent|recruiting|hiring|hr|info|hello|hi|team|support|help|"
    r"news|newsletters?|digest|updates?|marketing|promo(tions)?|offers|deals|sales|billing|receipts?|"
    r"orders?|invoices?|accounts?|admissions|appointments?|calendar|calendar-notification|invitations?|"
    r"messages|messaging|feedback|service|customerservice|community|events?|members?|membership|"
    r"announce(ments)?|press|admin|courses?|learn(ing)?|classes|store|shop|payments?|purchases?|tickets?|"
    r"bookings?|reservations?|confirmations?|security|verify|verification|reminders?|webmaster|root|system|automated|robot|daemon|owner|listserv|majordomo)$"
    r"|(^|[-_.+])(no-?reply|noreply|donotreply|notifications?|alerts?|bounces?|request|owner|digest)([-_.+]|$)",
    re.IGNORECASE,
)
_LIST_DOMAIN = re.compile(r"^(lists?|mailman|googlegroups|listserv|bounces?|notify|mkt|marketing)\.", re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|auto:|out of (the )?office|ooo\b|abwesenheitsnotiz|"
    r"réponse automatique|respuesta automática|delivery status notification|undeliverable|"
    r"mail delivery (failed|subsystem)|returned mail|(updated |new )?invitation\b[^:]{0,30}:|"
    r"(accepted|declined|tentative(ly accepted)?|canceled|cancelled)( event)?:|event (updated|canceled))",
    re.IGNORECASE,
)
# Wording that only mass mail uses; checked on the first lines and the footer of the new text.
# It counts only in a text with one of its keywords (`_BULK_WORDS`).
_BULK_WORDS = ("unsubscribe", "receiv", "intended for", "sent to", "preferences", "first", "dear ", "automated", "browser", "invited")
_BULK_TEXT = Phrase(
    r"\bunsubscribe\b|you (are|were) receiving this|(do not|don't|no longer) (wish|want) to receive|you received this (e-?mail|message) because|"
    r"this (e-?mail|message) was (sent|intended) (to|for)|manage (your )?(email )?preferences|"
    r"\{\s*first_?name\s*\}|%%?first_?name%%?|dear (candidate|applicant|customer|member|user)\b|"
    r"this is an automated (message|e-?mail)|view (it|this e-?mail) in (your|a) browser|"
    r"you have been invited to the following event",
    keys=_BULK_WORDS,
)
_OUT_OF_OFFICE = Phrase(
    r"\b(i am|i'm|i will be) (currently )?(out of (the )?office|away from (the |my )?(office|desk|e-?mail)|on (annual |parental |maternity |paternity )?leave|"
    r"travel+ing with limited)|\blimited access to (e-?mail|my inbox)\b|\bwon't be checking (e-?mail|my inbox)\b",
)


@lru_cache(maxsize=4096)  # the same addresses come back in every message
def is_role_address(email: str | None) -> bool:
    """An address that belongs to a robot, a department or a list, not a person."""
    if not email or "@" not in email:
        return True
    local, _, domain = email.partition("@")
    return bool(_ROLE_LOCAL.search(local)) or bool(_LIST_DOMAIN.match(domain))


def automated_reason(mail: Mail) -> str | None:
    """Why the message comes from a machine or a list, from its headers alone; None for a person."""
    h = mail.headers
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return f"automated sender: Auto-Submitted {auto}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in h:
            return f"automated sender: {name}"
    for name, label in (("list-id", "List-Id"), ("list-unsubscribe", "List-Unsubscribe"), ("list-post", "List-Post")):
        if name in h:
            return f"automated sender: {label}"
    if h.get("precedence", "").strip().lower() in ("bulk", "list", "junk", "auto_reply"):
        return f"automated sender: Precedence {h['precedence'].strip().lower()}"
    if _AUTO_SUBJECT.match(mail.subject):
        return "automatic reply or calendar notice (subject)"
    sender = mail.sender
    if sender is None:
        return "no sender address"
    if is_role_address(sender.email):
        return f"automated sender: role address {sender.email}"
    robot = h.get("sender", "")
    if robot and robot.lower() != sender.email and is_role_address(_address_in(robot)):
        return f"automated sender: sent on behalf by {robot[:60]}"
    if "(via " in sender.name.lower():
        return "automated sender: sent via a service"
    return None


def bulk_text_reason(*parts: str) -> str | None:
    """Mass-mail or auto-reply wording in the sender's own text, given as parts (what they wrote,
    their signature) that read as one text with a line break between each."""
    # (No keyword has a line break: the parts joined have one if a part has.)  An empty last part
    # (no signature) adds only a line break at the end, which no bulk wording can use: it is left
    # out, and the text needs no probe of its own.
    read = parts[:-1] if len(parts) > 1 and not parts[-1] else parts
    found = _BULK_TEXT.search(joined(list(read)))
    if found:
        return f"bulk-mail wording: '{found.group(0).lower()}'"
    # No out-of-office wording spans a line break: the parts are read apart, the first as the
    # rest of detection reads it.
    room = 600  # out-of-office wording comes first
    for part in parts:
        found = _OUT_OF_OFFICE.search(part, room)
        if found:
            return f"out-of-office wording: '{found.group(0).lower()}'"
        room -= len(part) + 1
        if room <= 0:
            break
    return None


def _address_in(value: str) -> str:
    found = re.search(r"[\w.+-]+@[\w.-]+", value)
    return found.group(0).lower() if found else ""
