"""The data that flows through the pipeline: source -> parse -> detect -> rules.

A source yields `RawMail` (the header block and the few body parts detection needs,
still transfer-encoded); `parse` turns it into a `Mail` (decoded headers and text);
`detect` reads a `Mail` and returns a `Detection`.  The rule engine and the store take
a `Mail` with its `Detection`.  No stage reaches back into an earlier one's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter


def _pickled_as_call(cls):
    """Pickle instances as a call of the class with their fields.  A first scan sends
    thousands of headers and texts to its detection workers; a frozen slots dataclass
    would otherwise run a Python __getstate__ and __setstate__ for each object."""
    values = attrgetter(*(f.name for f in fields(cls)))
    cls.__reduce__ = lambda self: (cls, values(self))
    return cls


@_pickled_as_call
@dataclass(frozen=True, slots=True)
class RawPart:
    """One body part as the source found it: bytes still in their transfer encoding."""

    body: bytes
    subtype: str = "plain"  # "plain" or "html" (the part's text/* subtype)
    charset: str = ""  # declared charset, "" when none was declared
    encoding: str = "7bit"  # Content-Transfer-Encoding: 7bit, 8bit, quoted-printable, base64
    # For a part inside an attached message/rfc822: that message's own header block.
    forwarded_header: bytes | None = None
    truncated: bool = False  # the source cut the part at its size limit


@dataclass(frozen=True, slots=True)
class RawMail:
    """A message as fetched: where it lives, its header block and the text parts to read."""

    folder: str
    uid: int
    header: bytes
    parts: tuple[RawPart, ...] = ()
    size: int = 0  # the whole message's size in bytes, as the server reports it


@_pickled_as_call
@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str | None  # None where the message gives no address (a phone or profile instead)

    def as_dict(self) -> dict:
        return {"name": self.name, "email": self.email}


@_pickled_as_call
@dataclass(frozen=True, slots=True)
class Forwarded:
    """A message quoted as forwarded (inline or attached), with its own headers."""

    sender: Person | None
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    subject: str
    text: str


@_pickled_as_call
@dataclass(slots=True)
class Mail:
    """A parsed message: decoded headers and the text of its body, ready for detection."""

    folder: str
    uid: int
    message_id: str  # without angle brackets; a stable hash where the message has none
    sender: Person | None  # From
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    reply_to: tuple[Person, ...]
    subject: str
    date: datetime | None  # timezone-aware where the Date header parses
    in_reply_to: str
    references: tuple[str, ...]
    headers: dict[str, str]  # other headers detection reads, lower-case names (list-id, auto-submitted, ...)
    text: str  # the body as text (HTML converted), quotes and signatures still in it
    html: bool = False  # the text came from an HTML part
    forwarded: tuple[Forwarded, ...] = ()  # attached message/rfc822 parts
    defects: tuple[str, ...] = ()  # what was wrong with the message, for the log


@dataclass(slots=True)
class Request:
    text: str  # a short phrase: "send your resume"
    due: datetime | None = None  # resolved against the message's Date

    def as_dict(self) -> dict:
        return {"text": self.text, "due": self.due.isoformat() if self.due else None}


KINDS = ("introduction", "referral", "lead", "request", "none")


@dataclass(slots=True)
class Detection:
    """What a message is and who it names (the contract of ../shared/corpus/SCHEMA.md)."""

    kind: str = "none"
    referrer: Person | None = None
    contacts: list[Person] = field(default_factory=list)
    company: str | None = None
    role: str | None = None
    requests: list[Request] = field(default_factory=list)
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "referrer": self.referrer.as_dict() if self.referrer else None,
            "contacts": [c.as_dict() for c in self.contacts],
            "company": self.company,
            "role": self.role,
            "requests": [r.text for r in self.requests],
            "request_dues": [r.due.isoformat() if r.due else None for r in self.requests],
            "confidence": round(self.confidence, 3),
            "reasons": self.reasons,
        }
