"""Compose: RFC 5322 header lines and MIME text parts, written safely from untrusted values.

Drafts are written as bytes here rather than through `EmailMessage`, whose header objects
were most of a draft's cost; every value still goes through the standard library's
encoders, never joined in raw: a display name by `email.utils.formataddr` (quoted where
it has specials) or, when not plain ASCII, as RFC 2047 encoded-words by `email.charset` /
`email.header.Header`; free text (a subject, a template's header) by `Header`, folded at
its spaces or as encoded-words (short plain ASCII, which `Header` leaves as it is, is
written as it is).  Values lose their control characters as they are written,
addresses and Message-IDs must pass strict checks, folds are CRLF and a space, and no
line reaches RFC 5322's 998 characters: a hostile name or subject cannot add a header
or break a line.
"""

from __future__ import annotations

import binascii
import re
from email import base64mime
from email.charset import Charset
from email.header import Header
from email.utils import formataddr

from .mail import Person

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# Plain ASCII addresses only: anything with spaces, quotes, brackets, commas or line
# breaks is refused rather than quoted, because it came from someone else's mail.
# At most 254 characters (RFC 5321's limit), so that a header line holding one stays short.
_ADDRESS = re.compile(r"^(?=.{3,254}$)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
# A Message-ID without its brackets: printable ASCII but space, < and >, as parse.py keeps it
# (at most 250 characters); one that is not is left out of In-Reply-To and References.
_MESSAGE_ID = re.compile(r"^[!-;=?-~]{1,250}$")
CRLF = "\r\n"  # line ends in a draft, as the SMTP policy of the email library writes them
_FOLD = 78  # the line length RFC 5322 recommends: longer headers are folded, longer body lines encoded
_UTF8 = Charset("utf-8")  # encodes header text as RFC 2047 encoded-words, B or Q, whichever is shorter


def clean_header(value: str, limit: int = 200) -> str:
    """One line of text, safe for a header: no CR, LF or other control characters."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


def valid_message_id(value: str) -> bool:
    return bool(_MESSAGE_ID.match(value))


def valid_address(value: str | None) -> str | None:
    """The address if it is a plain, well-formed one, else None."""
    value = (value or "").strip()
    return value if _ADDRESS.match(value) else None


def text_header(name: str, value: str) -> str:
    """`Name: value` for free text (a subject, a template's header), folded and encoded.

    ASCII is folded at its spaces by `Header`, so unfolding gives the text back exactly; other
    text, text that reads like an encoded-word ("=?"), or a first word too long for the first
    line, becomes UTF-8 encoded-words, 78 characters a line (more after a very long name, so
    that one fits on the first line)."""
    value = clean_header(value, 998 - len(name) - 2)  # a word Header cannot fold still fits a line
    plain = value.isascii() and "=?" not in value
    if plain and len(name) + 2 + len(value) <= _FOLD:
        return f"{name}: {value}{CRLF}"  # what Header gives for it, at a tenth of the cost
    if plain and len(name) + 2 + len(value.partition(" ")[0]) <= _FOLD:
        header = Header(value, maxlinelen=_FOLD, header_name=name)
    else:
        header = Header(value, _UTF8, maxlinelen=max(_FOLD, len(name) + 26), header_name=name)
    return f"{name}: {header.encode(linesep=CRLF)}{CRLF}"


def mailbox(name: str, address: str) -> str:
    """`name <address>` for a valid address: formataddr quotes an ASCII name that has specials;
    any other name (or one that reads like an encoded-word) is encoded by the UTF-8 charset as
    an RFC 2047 encoded-word, or by Header as several when one would pass RFC 2047's 75 characters."""
    if name.isascii() and "=?" not in name:
        return formataddr((name, address))
    word = _UTF8.header_encode(name)
    if len(word) > 75:
        word = Header(name, _UTF8, maxlinelen=_FOLD - 6).encode(linesep=CRLF)  # room for "Bcc: " or a fold
    return f"{word} <{address}>"


def address_header(name: str, people: list[Person]) -> str:
    """`Name: a, b` for the people with a valid address (none: no header), one a line if long."""
    boxes = [mailbox(clean_header(p.name), address) for p in people if (address := valid_address(p.email))]
    if not boxes:
        return ""
    line = ", ".join(boxes)
    return f"{name}: {line if len(name) + 2 + len(line) <= _FOLD else (',' + CRLF + ' ').join(boxes)}{CRLF}"


def ids_header(name: str, ids: list[str]) -> str:
    """`Name: <id> <id>` for the ids that pass the strict check (none: no header), one a line if long."""
    ids = [f"<{i}>" for i in ids if valid_message_id(i)]
    if not ids:
        return ""
    line = " ".join(ids)
    return f"{name}: {line if len(name) + 2 + len(line) <= _FOLD else (CRLF + ' ').join(ids)}{CRLF}"


def text_part(subtype: str, text: str, boundary: str = "") -> bytes:
    """A text part's Content-* headers, a blank line and the text, CRLF line ends.

    Short lines go as they are (7bit or 8bit, as the email library chose), unless the part holds
    the multipart boundary; else quoted-printable or base64, whichever is shorter."""
    data = text.encode("utf-8")
    lines = data.splitlines()
    body = b"\r\n".join(lines) + b"\r\n"
    if max(map(len, lines), default=0) <= _FOLD and not (boundary and boundary.encode() in body):
        encoding = "7bit" if body.isascii() else "8bit"
    else:
        quoted = binascii.b2a_qp(body, istext=True)  # keeps the CRLFs; "=" only before hex or a line end
        if len(quoted) <= len(binascii.b2a_base64(body)):  # the email library's rule
            encoding, body = "quoted-printable", quoted
        else:
            encoding, body = "base64", base64mime.body_encode(body, eol=CRLF).encode("ascii")
    return (f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}'
            .encode("ascii") + body)
