"""Parse: a fetched `RawMail` into a `Mail` with decoded headers and text.

Only the header block and the chosen text parts are decoded (see `mime`).  Headers
are split by a small reader instead of the `email` package's parser: that parser,
with `email.policy.default`, costs milliseconds a message and gives detection
nothing it needs.  A scan reads the header first (`parse_header`), decides from it
whether the text is worth fetching, and only then adds the text (`add_text`).
Every decoding step tolerates bad input and records what was wrong in
`Mail.defects` instead of raising.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import quopri
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

from .html import html_to_text
from .mail import Forwarded, Mail, Person, RawMail, RawPart

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID = re.compile(r"<([^<>\s]+)>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# A field: its name, a colon, and its value with any folded continuation lines.
_FIELD = re.compile(r"^([\x21-\x39\x3b-\x7e]+)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.MULTILINE)
_HEADER_END = re.compile(r"^\r?$", re.MULTILINE)
# One address as most mail writes it: `Name <addr>`, `<addr>` or a bare `addr`.
_PLAIN_ADDRESS = re.compile(r"^\s*(?:([^<>]*?)\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*$")
MAX_HEADER_CHARS = 16 * 1024  # a longer header value is cut: no real address list needs more
KEPT_HEADERS = (
    "list-id", "list-unsubscribe", "list-post", "precedence", "auto-submitted",
    "x-autoreply", "x-autorespond", "x-auto-response-suppress", "sender", "x-assistant-task",
)
IDENTIFYING_HEADERS = ("from", "sender", "to", "cc", "date", "message-id", "subject")


class ParseError(ValueError):
    """The message cannot be read at all (no usable header)."""


def header_fields(block: bytes) -> dict[str, str]:
    """A header block as {lower-case name: unfolded value}; the first of repeated fields wins."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        # Raw 8-bit header text in the wild is mostly Windows-1252; it decodes any byte.
        text = block.decode("cp1252", "replace")
    end = _HEADER_END.search(text)  # the blank line that ends the header
    fields: dict[str, str] = {}
    for found in _FIELD.finditer(text, 0, end.start() if end else len(text)):
        name = found.group(1).lower()
        if name not in fields:
            value = found.group(2)
            fields[name] = (_FOLD.sub("", value) if "\n" in value else value).strip()[:MAX_HEADER_CHARS]
    return fields


def decode_words(value: str) -> str:
    """An RFC 2047 header value as one line of text, without control characters."""
    value = value[:MAX_HEADER_CHARS]
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except (ValueError, LookupError, UnicodeError, binascii.Error):
            pass  # keep the undecoded text: still readable, never an exception
    return (value if value.isprintable() else _CONTROL.sub(" ", value)).strip()


def parse_addresses(value: str) -> tuple[Person, ...]:
    """The addresses of a To/Cc/From value; names decoded per address, so that an
    encoded comma cannot split one address in two."""
    if not value:
        return ()
    value = value[:MAX_HEADER_CHARS]
    if '"' in value or "(" in value or ";" in value or ":" in value:
        pairs = getaddresses([value])  # quoting, comments or groups: the full RFC 5322 reader
    else:
        pairs = []
        for item in value.split(","):
            found = _PLAIN_ADDRESS.match(item)
            if found:
                pairs.append((found.group(1) or "", found.group(2) or found.group(3)))
            elif item.strip():
                pairs.extend(getaddresses([item]))
    people = []
    for name, addr in pairs:
        addr = _CONTROL.sub("", addr).strip().lower()
        if "@" not in addr:
            continue
        people.append(Person(name=" ".join(decode_words(name).split()).strip(" \"'"), email=addr))
    return tuple(people)


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


_MONTHS = {m: k for k, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
# The Date most mail has: "Tue, 4 Mar 2025 10:00:00 +0100" (a comment may follow).
_USUAL_DATE = re.compile(r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d\d):(\d\d)(?::(\d\d))?\s+([+-]\d\d)(\d\d)\s*(?:\(.*\))?")
_ZONES: dict[tuple[str, str], timezone] = {}


def parse_date(value: str) -> datetime:
    """A Date header as an aware datetime (naive for "-0000", as `email.utils` reads it).

    The usual form is read by one regex: `parsedate_to_datetime` costs several times
    more, and a scan reads the Date of every message.  Anything else goes to it."""
    found = _USUAL_DATE.fullmatch(value)
    month = found and _MONTHS.get(found.group(2).lower())
    if not month or found.group(7) + found.group(8) == "-0000":
        return parsedate_to_datetime(value)
    hours, minutes = found.group(7), found.group(8)
    zone = _ZONES.get((hours, minutes))
    if zone is None:
        offset = timedelta(hours=abs(int(hours)), minutes=int(minutes))
        zone = _ZONES.setdefault((hours, minutes), timezone(-offset if hours[0] == "-" else offset))
    return datetime(int(found.group(3)), month, int(found.group(1)), int(found.group(4)), int(found.group(5)),
                    int(found.group(6) or 0), tzinfo=zone)


def _message_id(fields: dict[str, str]) -> str:
    found = _MSGID.search(fields.get("message-id", ""))
    if found:
        return found.group(1)[:250]
    # No Message-ID: a stable key from headers every source returns alike.
    basis = "\n".join(fields.get(h, "") for h in ("from", "to", "date", "subject"))
    return "sha256-" + hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:32] + "@assistant.invalid"


def parse_header(raw: RawMail) -> Mail:
    """The message's headers as a `Mail` with no text yet; raises ParseError if it has none."""
    fields = header_fields(raw.header)
    # Judged on the fields every source fetches, so that IMAP and Maildir reject alike.
    if not any(fields.get(name) for name in IDENTIFYING_HEADERS):
        raise ParseError("no From, To, Date, Subject or Message-ID header: not a mail message")
    date = None
    defects: list[str] = []
    if fields.get("date"):
        try:
            date = parse_date(fields["date"])
        except (TypeError, ValueError, IndexError, OverflowError):
            defects.append(f"unparseable Date {fields['date'][:40]!r}")
    senders = parse_addresses(fields.get("from", ""))
    return Mail(
        folder=raw.folder,
        uid=raw.uid,
        message_id=_message_id(fields),
        sender=senders[0] if senders else None,
        to=parse_addresses(fields.get("to", "")),
        cc=parse_addresses(fields.get("cc", "")),
        reply_to=parse_addresses(fields.get("reply-to", "")),
        subject=decode_words(fields.get("subject", "")),
        date=date,
        in_reply_to=(_MSGID.findall(fields.get("in-reply-to", "")) or [""])[0],
        references=tuple(_MSGID.findall(fields.get("references", "")))[-50:],
        headers={h: decode_words(fields[h]) for h in KEPT_HEADERS if h in fields},
        text="",
        defects=tuple(defects),
    )


def add_text(mail: Mail, parts: tuple[RawPart, ...]) -> Mail:
    """`mail` with the text of its chosen parts, and the messages forwarded as attachments."""
    texts: list[str] = []
    html = False
    defects = list(mail.defects)
    forwarded: list[Forwarded] = []
    for part in parts:
        text, part_defects = decode_part(part)
        defects.extend(part_defects)
        if part.forwarded_header is None:
            texts.append(text)
            html = html or part.subtype == "html"
            continue
        inner = header_fields(part.forwarded_header)
        inner_from = parse_addresses(inner.get("from", ""))
        forwarded.append(
            Forwarded(
                sender=inner_from[0] if inner_from else None,
                to=parse_addresses(inner.get("to", "")),
                cc=parse_addresses(inner.get("cc", "")),
                subject=decode_words(inner.get("subject", "")),
                text=text,
            )
        )
    return replace(mail, text="\n\n".join(texts), html=html, forwarded=tuple(forwarded), defects=tuple(defects))


def parse(raw: RawMail) -> Mail:
    """Headers and text of a fetched message."""
    return add_text(parse_header(raw), raw.parts)
