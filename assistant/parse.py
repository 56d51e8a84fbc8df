"""Parse: a fetched `RawMail` into a `Mail` with decoded headers and text.

Only the header block and the chosen text parts are decoded (see `mime`), with the
fast compat32 header parser: `email.policy.default` costs milliseconds a message
and gives detection nothing it needs.  Every decoding step tolerates bad input and
records what was wrong in `Mail.defects` instead of raising.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import quopri
import re
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from .html import html_to_text
from .mail import Forwarded, Mail, Person, RawMail, RawPart

_header_parser = BytesHeaderParser(policy=policy.compat32)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID = re.compile(r"<([^<>\s]+)>")
MAX_HEADER_CHARS = 16 * 1024  # a longer header value is cut: no real address list needs more
KEPT_HEADERS = (
    "list-id", "list-unsubscribe", "list-post", "precedence", "auto-submitted",
    "x-autoreply", "x-autorespond", "x-auto-response-suppress", "sender", "x-assistant-task",
)


IDENTIFYING_HEADERS = ("From", "Sender", "To", "Cc", "Date", "Message-ID", "Subject")


class ParseError(ValueError):
    """The message cannot be read at all (no usable header)."""


def decode_words(value: str) -> str:
    """An RFC 2047 header value as one line of text, without control characters."""
    value = value[:MAX_HEADER_CHARS]
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except (ValueError, LookupError, UnicodeError, binascii.Error):
            pass  # keep the undecoded text: still readable, never an exception
    return _CONTROL.sub(" ", value.encode("utf-8", "replace").decode("utf-8")).strip()


def _raw_value(msg, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):  # compat32 hands back a Header for undecodable bytes
        value = str(value)
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def parse_addresses(value: str) -> tuple[Person, ...]:
    people = []
    for name, addr in getaddresses([value[:MAX_HEADER_CHARS]]):
        addr = _CONTROL.sub("", addr).strip().lower()
        if "@" not in addr:
            continue
        people.append(Person(name=decode_words(name).strip(" \"'"), email=addr))
    return tuple(people)


def _addresses(msg, name: str) -> tuple[Person, ...]:
    # Names are decoded per address so that an encoded comma cannot split one address in two.
    return parse_addresses(_raw_value(msg, name))


def _charset_decode(data: bytes, charset: str) -> tuple[str, str | None]:
    charset = (charset or "").strip().strip('"').lower()
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            defect = f"unknown charset {charset!r}"
            charset = ""
        else:
            defect = None
            try:
                return data.decode(charset), None
            except UnicodeDecodeError:
                defect = f"bytes not valid in declared charset {charset!r}"
    else:
        defect = None
    try:
        return data.decode("utf-8"), defect
    except UnicodeDecodeError:
        # Undeclared 8-bit text in the wild is mostly Windows-1252; it decodes any byte.
        return data.decode("cp1252", "replace"), defect or "undeclared 8-bit charset, read as cp1252"


def decode_part(part: RawPart) -> tuple[str, list[str]]:
    defects: list[str] = []
    data = part.body
    encoding = part.encoding.lower()
    if encoding == "base64":
        try:
            data = binascii.a2b_base64(re.sub(rb"[^A-Za-z0-9+/=]", b"", data) + b"==")
        except binascii.Error as exc:
            defects.append(f"bad base64: {exc}")
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    text, defect = _charset_decode(data, part.charset)
    if defect:
        defects.append(defect)
    if part.subtype == "html":
        text = html_to_text(text)
    if part.truncated:
        defects.append("text part cut at the size limit")
    return text.replace("\r\n", "\n").replace("\r", "\n"), defects


def _message_id(msg) -> str:
    found = _MSGID.search(_raw_value(msg, "Message-ID"))
    if found:
        return found.group(1)[:250]
    # No Message-ID: a stable key from headers every source returns alike.
    basis = "\n".join(_raw_value(msg, h) for h in ("From", "To", "Date", "Subject"))
    return "sha256-" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:32] + "@assistant.invalid"


def parse(raw: RawMail) -> Mail:
    msg = _header_parser.parsebytes(raw.header)
    # Judged on the fields every source fetches, so that IMAP and Maildir reject alike.
    if not any(msg.get(name) for name in IDENTIFYING_HEADERS):
        raise ParseError("no From, To, Date, Subject or Message-ID header: not a mail message")
    date = None
    defects: list[str] = []
    date_value = _raw_value(msg, "Date")
    if date_value:
        try:
            date = parsedate_to_datetime(date_value)
        except (TypeError, ValueError, IndexError, OverflowError):
            defects.append(f"unparseable Date {date_value[:40]!r}")
    senders = _addresses(msg, "From")
    texts: list[str] = []
    html = False
    forwarded: list[Forwarded] = []
    for part in raw.parts:
        text, part_defects = decode_part(part)
        defects.extend(part_defects)
        if part.forwarded_header is None:
            texts.append(text)
            html = html or part.subtype == "html"
            continue
        inner = _header_parser.parsebytes(part.forwarded_header)
        inner_from = _addresses(inner, "From")
        forwarded.append(
            Forwarded(
                sender=inner_from[0] if inner_from else None,
                to=_addresses(inner, "To"),
                cc=_addresses(inner, "Cc"),
                subject=decode_words(_raw_value(inner, "Subject")),
                text=text,
            )
        )
    return Mail(
        folder=raw.folder,
        uid=raw.uid,
        message_id=_message_id(msg),
        sender=senders[0] if senders else None,
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        reply_to=_addresses(msg, "Reply-To"),
        subject=decode_words(_raw_value(msg, "Subject")),
        date=date,
        in_reply_to=(_MSGID.findall(_raw_value(msg, "In-Reply-To")) or [""])[0],
        references=tuple(_MSGID.findall(_raw_value(msg, "References")))[-50:],
        headers={h: decode_words(_raw_value(msg, h)) for h in KEPT_HEADERS if msg.get(h) is not None},
        text="\n\n".join(texts),
        html=html,
        forwarded=tuple(forwarded),
        defects=tuple(defects),
    )
