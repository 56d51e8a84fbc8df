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
from email.errors import MessageError
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

from .html import html_to_text
from .mail import Forwarded, Mail, Person, RawMail, RawPart

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID = re.compile(r"<([^<>\s]+)>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# A field: its name, a colon, and its value with any folded continuation lines.
_FIELD = re.compile(r"^([\x21-\x39\x3b-\x7e]+)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.MULTILINE)
# The blank line that ends a header, found from the line break before it: a pattern
# that starts with `^` is tried at every character, and costs several times more.
_BLANK_LINE = re.compile(r"\n\r?\n")
# An RFC 2047 encoded word, found as `email.header` finds one.
_ENCODED_WORD = re.compile(r"=\?([^?]*?)\?([qQbB])\?(.*?)\?=")
_USUAL_CHARSETS = ("utf-8", "iso-8859-1", "windows-1252")
_SPACED = " ()\\"  # what `email.header` takes as a space already there next to a decoded word
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
    if text.startswith(("\n", "\r\n")):
        return {}  # a blank first line: no header at all
    end = _BLANK_LINE.search(text)
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(text, 0, end.start() if end else len(text)):
        name = name.lower()
        if name not in fields:
            fields[name] = (_FOLD.sub("", value) if "\n" in value else value).strip()[:MAX_HEADER_CHARS]
    return fields


def decode_words(value: str) -> str:
    """An RFC 2047 header value as one line of text, without control characters."""
    value = value[:MAX_HEADER_CHARS]
    if "=?" in value:
        decoded = _decode_usual_words(value)
        if decoded is None:
            try:
                decoded = str(make_header(decode_header(value)))
            except (ValueError, LookupError, UnicodeError, binascii.Error, MessageError):
                decoded = value  # bad base64 or charset: keep the undecoded text, never an exception
        value = decoded
    return (value if value.isprintable() else _CONTROL.sub(" ", value)).strip()


def _decode_usual_words(value: str) -> str | None:
    """`str(make_header(decode_header(value)))` for the usual value: printable ASCII
    whose encoded words are all in one of `_USUAL_CHARSETS` and decode.  None for any
    other value.  The email package builds several objects a word, and a scan decodes
    the Subject and names of every message."""
    if not (value.isascii() and value.isprintable()):
        return None
    parts: list[str | bytes] = []  # plain text, and the bytes of adjacent encoded words joined
    charset = None
    end = 0
    for word in _ENCODED_WORD.finditer(value):
        plain = value[end:word.start()] if end else value[:word.start()].lstrip()
        if plain and not plain.isspace():  # white space between encoded words is dropped
            parts.append(plain)
        word_charset, encoding, text = word.groups()
        if charset is None:
            charset = word_charset.lower()
        if charset not in _USUAL_CHARSETS or word_charset.lower() != charset or text.isspace():
            return None  # email.header splits at a change of charset, and may drop a word of white space
        if encoding in "qQ":
            if "==" in text or text.endswith("="):
                return None  # the one place binascii reads "=" unlike email.quoprimime
            data = binascii.a2b_qp(text, header=True)
        else:
            try:
                data = binascii.a2b_base64(text + "==="[:-len(text) % 4])  # padded as email.header pads it
            except binascii.Error:
                return None
        if parts and isinstance(parts[-1], bytes):
            parts[-1] += data  # one character may be split between two words
        else:
            parts.append(data)
        end = word.end()
    if not end:
        return value  # no encoded word after all
    if value[end:]:
        parts.append(value[end:])
    decoded = []
    for k, part in enumerate(parts):
        # A space is put between decoded and plain text unless the plain side has one (or a parenthesis).
        if isinstance(part, bytes):
            try:
                part = part.decode(charset)
            except UnicodeDecodeError:
                return None
            if k and parts[k - 1][-1] not in _SPACED:
                decoded.append(" ")
        elif k and part[0] not in _SPACED:
            decoded.append(" ")
        decoded.append(part)
    return "".join(decoded)


def parse_addresses(value: str) -> tuple[Person, ...]:
    """The addresses of a To/Cc/From value; names decoded per address, so that an
    encoded comma cannot split one address in two."""
    if not value:
        return ()
    if len(value) <= MAX_CACHED_ADDRESSES_CHARS:
        return _read_recurring_addresses(value)
    return _read_addresses(value[:MAX_HEADER_CHARS])


def _read_addresses(value: str) -> tuple[Person, ...]:
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


# The same senders and recipients recur from message to message, so a short value's
# addresses are read once.  Only short values are kept, so that the cache holds at most
# 1024 values of 256 characters with their addresses, hostile or not.
MAX_CACHED_ADDRESSES_CHARS = 256
_read_recurring_addresses = lru_cache(maxsize=1024)(_read_addresses)


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
            # Line breaks and other bytes outside the alphabet are skipped by a2b_base64 itself;
            # the padding added makes up for a part cut short.
            data = binascii.a2b_base64(data + b"==")
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
    text = text.replace("\r\n", "\n")
    return (text.replace("\r", "\n") if "\r" in text else text), defects


_MONTHS = {m: k for k, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
# The Date most mail has: "Tue, 4 Mar 2025 10:00:00 +0100" (a comment may follow).
_USUAL_DATE = re.compile(r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d\d):(\d\d)(?::(\d\d))?\s+([+-]\d{4})\s*(?:\(.*\))?")
_ZONES: dict[str, timezone] = {}


def parse_date(value: str) -> datetime:
    """A Date header as an aware datetime (naive for "-0000", as `email.utils` reads it).

    The usual form is read by one regex: `parsedate_to_datetime` costs several times
    more, and a scan reads the Date of every message.  Anything else goes to it."""
    found = _USUAL_DATE.fullmatch(value)
    if not found:
        return parsedate_to_datetime(value)
    day, month_name, year, hour, minute, second, offset = found.groups()
    month = _MONTHS.get(month_name.lower())
    if not month or offset == "-0000":
        return parsedate_to_datetime(value)
    zone = _ZONES.get(offset)
    if zone is None:
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:]))
        zone = _ZONES.setdefault(offset, timezone(-delta if offset[0] == "-" else delta))
    return datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=zone)


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
    if not any(map(fields.get, IDENTIFYING_HEADERS)):
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
