"""Split a message body into what the sender just wrote and what they quoted.

People reply above ("top-post"), below or between quoted lines, forward whole
messages with a header block, and end with sign-offs, signatures, "Sent from my
iPhone" and legal footers.  Detection reads only the new text (and, for a
forward, the forwarded message), so a quoted introduction is never a new one.

Everything here works line by line with anchored, linear regexes, and reads at
most MAX_LINES lines, so hostile or huge bodies cost bounded time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .mail import Person
from .parse import parse_addresses

MAX_LINES = 1500  # far more than any hand-written message; bounds pathological input
MAX_NESTING = 8  # quoted messages split apart; a longer thread's tail is left as one block

# "On Tue, 3 Mar 2026 at 10:02, Sam <sam@x> wrote:" and its translations.  A client
# may wrap the line, so the attribution is matched on one or two joined lines.
_WROTE = re.compile(
    r"\b(wrote|writes|a écrit|schrieb|escribió|scrisse|skrev|schreef|napisał|написал[аи]?|пишет)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^(on|le|am|el|il|op|den|w dniu)\b|^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|^\w{3},? ", re.IGNORECASE)
_HAS_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_HAS_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
# Header lines of an Outlook reply block or an inline forward, in a few languages;
# "*From:*" is how bold labels come out of HTML mail.
_HEADER_LINE = re.compile(
    r"^\*?(from|de|von|van|da|от|fra|från|sent|date|envoyé|gesendet|enviado|datum|отправлено|"
    r"to|à|an|para|кому|cc|subject|objet|betreff|asunto|oggetto|тема)\*?\s*:\s*(.*)$",
    re.IGNORECASE,
)
_FROM_KEYS = {"from", "de", "von", "van", "da", "от", "fra", "från"}
_TO_KEYS = {"to", "à", "an", "para", "кому"}
_FORWARD_MARKER = re.compile(
    r"^[-\s]*(forwarded message|begin forwarded message|original message|weitergeleitete nachricht|"
    r"message transféré|mensaje reenviado|пересылаемое сообщение)[-\s:]*$",
    re.IGNORECASE,
)
_MARKER_WORDS = ("message", "weitergeleitete", "mensaje", "пересылаемое")  # one is in every marker
# The Latin ones as `_has_marker_word` looks for them: "message" and "mensaje" with one regex,
# which begins with their "me" (a fast scan), and "weitergeleitete" on its own.
_ME_MARKER_WORDS = re.compile(rb"message|mensaje")
_RULE = re.compile(r"^\s*(_{8,}|-{8,}|={8,})\s*$")
_RULE_CHARS = ("_", "-", "=")
_QUOTED = re.compile(r"^\s*>")
_DEQUOTE = re.compile(r"^\s*> ?")

# Signatures and footers.
_SIG_DASHES = re.compile(r"^\s*(-{2,}|_{2,})\s*$")  # "-- " and the rules people draw above a signature
_MOBILE = re.compile(
    r"^\s*(sent (from|with|via) (my )?\S+(\s\S+){0,4}?|get outlook for \w+)"
    r"(,?\s*(please )?(excuse|pardon|sorry)( for)? (the |my )?(brevity|typos?)\.?)?\s*[.!]?\s*$",
    re.IGNORECASE,
)
_LEGAL = re.compile(
    r"^\s*(confidentiality notice|disclaimer|this (e-?mail|message)( and any (attachments|files))? "
    r"(is|are|may|contains?|and)|the information (contained )?in this (e-?mail|message))",
    re.IGNORECASE,
)
_VALEDICTION = re.compile(
    r"^\s*((best|kind|warm|warmest)( regards| wishes)?|regards|cheers|thanks( so much| again| a lot)?|"
    r"thank you( so much)?|many thanks|sincerely|yours( truly)?|love|xo+|take care|all the best|"
    r"with (best|warm|kind) (wishes|regards)|talk soon|speak soon|best of luck|good luck|cordially|"
    r"looking forward to (it|hearing from you)|enjoy|have fun)\s*[,.!]*\s*$",
    re.IGNORECASE,
)
# One regex call a line for the four, a signature's start first (a match on the stripped line
# is one on the line: they begin with "^\s*").
_SIGNATURE_START = "|".join(f"(?:{p.pattern})" for p in (_SIG_DASHES, _MOBILE, _LEGAL))
_SIGNATURE_OR_VALEDICTION = re.compile(f"(?P<signature>{_SIGNATURE_START})|(?P<valediction>{_VALEDICTION.pattern})", re.IGNORECASE)


@dataclass(slots=True)
class Quoted:
    """A message quoted in the body: a reply's earlier message or a forwarded one."""

    forwarded: bool  # an explicit forward, as opposed to the history under a reply
    sender: Person | None = None
    to: tuple[Person, ...] = ()
    cc: tuple[Person, ...] = ()
    subject: str = ""
    text: str = ""


@dataclass(slots=True)
class Split:
    new: str  # what the sender wrote, quotes removed, signature still in it
    quoted: list[Quoted] = field(default_factory=list)


def _attribution(lines: list[str], i: int) -> int:
    """How many lines (1 or 2) starting at i form an "On ... wrote:" line, else 0."""
    line = lines[i].strip()
    if not line or len(line) > 300:
        return 0
    if not line.endswith(":") and not (i + 1 < len(lines) and lines[i + 1].rstrip().endswith(":")):
        return 0  # every attribution ends with a colon: skip the regexes for ordinary lines
    # A wrapped attribution: the first half already looks like one, the second is not quoted.
    wrapped = i + 1 < len(lines) and not _QUOTED.match(lines[i + 1]) and bool(
        _ATTRIBUTION_START.match(line) or _HAS_EMAIL.search(line) or _HAS_TIME.search(line)
    )
    for joined, used in ((line, 1), (f"{line} {lines[i + 1].strip()}" if wrapped else "", 2)):
        if not joined or len(joined) > 300:
            continue
        if _WROTE.search(joined) and (used == 1 or not _WROTE.search(line)):
            return used
        # Clients that say no "wrote": '26.06.2014, 14:41, "Sam" <sam@x>:' or '... от Sam <sam@x>:'.
        if joined.endswith(":") and (_HAS_EMAIL.search(joined) or _HAS_TIME.search(joined)) and (
            _ATTRIBUTION_START.match(joined) or _HAS_EMAIL.search(joined)
        ) and _next_is_quote(lines, i + used):
            return used
    return 0


def _next_is_quote(lines: list[str], i: int) -> bool:
    for line in lines[i : i + 3]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _header_block(lines: list[str], i: int) -> int:
    """Length of a "From: / Sent: / To: / Subject:" block starting at line i, else 0.

    A value may wrap onto the next line; a blank line ends the block unless another
    header follows it (Outlook 2003 puts blank lines between its headers).
    """
    keys: set[str] = set()
    j = i
    end = i
    while j < len(lines) and j < i + 16:
        line = lines[j].strip()
        if not line:
            nxt = _skip_blank(lines, j)
            if nxt < len(lines) and _HEADER_LINE.match(lines[nxt].strip()) and nxt - j <= 2:
                j = nxt
                continue
            break
        found = _HEADER_LINE.match(line)
        if found:
            keys.add(found.group(1).lower().strip("*"))
        elif j == i or len(line) > 120:
            break
        j += 1
        end = j
    if keys & _FROM_KEYS and len(keys) >= 2:
        return end - i
    return 0


def _parse_block(header_lines: list[str], body: str, forwarded: bool) -> Quoted:
    fields: dict[str, str] = {}
    last = ""
    for line in header_lines:
        found = _HEADER_LINE.match(line.strip())
        if found:
            last = found.group(1).lower()
            fields[last] = found.group(2).strip()
        elif last and line.strip():
            fields[last] = f"{fields[last]} {line.strip()}"
    sender = to = cc = ()
    subject = ""
    for key, value in fields.items():
        value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value)
        if key in _FROM_KEYS:
            sender = parse_addresses(value)
        elif key in _TO_KEYS:
            to = parse_addresses(value.replace(";", ","))
        elif key == "cc":
            cc = parse_addresses(value.replace(";", ","))
        elif key in ("subject", "objet", "betreff", "asunto", "oggetto", "тема"):
            subject = value
    return Quoted(forwarded=forwarded, sender=sender[0] if sender else None, to=to, cc=cc, subject=subject, text=body)


def split_quotes(text: str, is_forward: bool = False, depth: int = 0) -> Split:
    """The new text and the quoted messages below it.

    `is_forward` (the subject says Fwd/FW) makes an Outlook-style header block a
    forwarded message rather than reply history.  `depth` counts the quoted messages
    already split off above this text: past MAX_NESTING the rest stays one block.
    """
    markers = _has_marker_word(text)
    if not markers and ":" not in text and ">" not in text and text.count("\n") < MAX_LINES:
        return Split(text.strip())  # no quote, marker, header or attribution line: all of it is new
    lines = text.split("\n", MAX_LINES)[:MAX_LINES]
    new: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">"):
            i += 1
            continue
        # Most lines are prose: without a colon here or on the next line, a marker word or a
        # rule, none of the tests below can succeed.
        if not (markers or ":" in line or stripped[:1] in _RULE_CHARS or (i + 1 < len(lines) and ":" in lines[i + 1])):
            new.append(line)
            i += 1
            continue
        lowered = stripped[:60].lower()
        marker = any(w in lowered for w in _MARKER_WORDS) and bool(_FORWARD_MARKER.match(stripped))
        rule = stripped[:1] in _RULE_CHARS and bool(_RULE.match(line))
        if marker and _next_is_quote(lines, i + 1):
            # Apple Mail quotes a forwarded message, its header block included, with ">".
            lines = [*lines[: i + 1], *(_DEQUOTE.sub("", ln, count=1) for ln in lines[i + 1 :])]
        start = i + 1 if marker or rule else i
        block = _header_block(lines, _skip_blank(lines, start)) if (marker or rule or (":" in lowered and _HEADER_LINE.match(stripped))) else 0
        if block:
            head_at = _skip_blank(lines, start)
            forwarded = (marker and "original" not in stripped.lower()) or is_forward
            return Split("\n".join(new).strip(), _quoted_blocks(lines, head_at, block, forwarded, depth))
        if marker:  # a marker with no header block under it: the rest is still quoted
            return Split("\n".join(new).strip(), [Quoted(forwarded="original" not in stripped.lower() or is_forward, text="\n".join(lines[i + 1 :]))])
        used = _attribution(lines, i)
        if used:
            if _next_is_quote(lines, i + used):
                i += used  # the ">" lines below are skipped; a bottom-posted reply may follow
                continue
            # An attribution with unmarked text under it (HTML mail): all of it is history.
            return Split("\n".join(new).strip(), [Quoted(forwarded=False, text="\n".join(lines[i + used :]))])
        new.append(line)
        i += 1
    return Split("\n".join(new).strip())


def _has_marker_word(text: str) -> bool:
    """Whether a line of the text may have a word of a forward marker (in any case)."""
    # bytes.lower() lower-cases ASCII letters only, at a fraction of the cost of str.lower(), and
    # no other letter lower-cases to the Latin words; the Cyrillic one needs Cyrillic letters,
    # which a Latin-1 text (most mail: its encoding is a copy) has none of, and whose UTF-8
    # begins with byte D0 or D1.
    try:
        data = text.encode("latin-1").lower()
        cyrillic = False
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass").lower()
        cyrillic = b"\xd0" in data or b"\xd1" in data
    if _ME_MARKER_WORDS.search(data) or b"weitergeleitete" in data:
        return True
    return cyrillic and any(w in text.lower() for w in _MARKER_WORDS if not w.isascii())


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _quoted_blocks(lines: list[str], start: int, length: int, forwarded: bool, depth: int) -> list[Quoted]:
    """The quoted message at `start` and, when it quotes or forwards another, that one too."""
    body = "\n".join(lines[start + length :])
    if depth >= MAX_NESTING:
        return [_parse_block(lines[start : start + length], body, forwarded)]
    inner = split_quotes(body, forwarded, depth + 1)
    first = _parse_block(lines[start : start + length], inner.new, forwarded)
    return [first, *inner.quoted]


_LIST_ITEM = re.compile(r"^\s*([-*•>]|\d+[.)])\s")
_LIST_MARKS = frozenset("-*•>")  # what a list item's stripped line starts with, if not a digit


def unwrapped_lines(text: str, width: int = 60) -> list[str]:
    """The text's lines, those a plain-text client wrapped at ~72 columns joined back into paragraphs.

    Only a line at least `width` long is continued, so short lines (signatures,
    addresses, lists) keep their breaks.  No line has a line break: the text they
    make, split again, gives them back, so `split_signature_lines` reads them as they are.
    """
    out: list[str] = []
    paragraph: list[str] = []  # a long line and the lines joined to it, stripped: joined once, at its end
    first = ""  # that long line as written, kept as it is if no line joins it
    for line in text.split("\n"):
        if paragraph:
            stripped = line.strip()
            if stripped and not ((stripped[0] in _LIST_MARKS or stripped[0].isdecimal()) and _LIST_ITEM.match(line)):
                paragraph.append(stripped)
                if stripped[-1] == ":":  # what follows a colon keeps its line
                    out.append(" ".join(paragraph))
                    paragraph = []
                continue
            out.append(first if len(paragraph) == 1 else " ".join(paragraph))
            paragraph = []
        if len(line) >= width:  # (stripping makes no line longer)
            rstripped = line.rstrip()
            if len(rstripped) >= width and rstripped[-1] != ":":
                paragraph, first = [rstripped], line
                continue
        out.append(line)
    if paragraph:
        out.append(first if len(paragraph) == 1 else " ".join(paragraph))
    return out


def quoted_lines(text: str) -> str:
    """The ">"-quoted lines of a body, which split_quotes drops: what only the thread names."""
    return "\n".join(ln for ln in text.split("\n", MAX_LINES)[:MAX_LINES] if ln.lstrip().startswith(">"))


def reply_text(text: str) -> str:
    """The text of a reply without the quoted history (signature kept)."""
    return split_quotes(text).new


def split_signature(text: str, sender_names: tuple[str, ...] = ()) -> tuple[str, str]:
    """(body, signature): the signature starts at a sign-off name, "-- ", a mobile line or a footer.

    `sender_names` are lower-case first names (and full names) the sender signs with.
    """
    return split_signature_lines(text.split("\n"), sender_names)


def split_signature_lines(lines: list[str], sender_names: tuple[str, ...] = ()) -> tuple[str, str]:
    """`split_signature` of the text that is these lines joined with line breaks."""
    content_seen = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        found = _SIGNATURE_OR_VALEDICTION.match(stripped)
        if found and found["signature"] is not None:
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
        if content_seen and _is_name_line(stripped, sender_names):
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
        if content_seen and found and i + 1 < len(lines):  # a valediction
            return "\n".join(lines[: i + 1]).strip(), "\n".join(lines[i + 1 :]).strip()
        content_seen = True
    return "\n".join(lines).strip(), ""


_SIGN_PREFIX = re.compile(r"^(?:[-–—~]\s*|xo+\s+|(?:best|cheers|thanks|regards|love),?\s+)", re.IGNORECASE)


def _is_name_line(line: str, names: tuple[str, ...]) -> bool:
    """A line that is the sender signing: "Mira", "-Lauren", "Best, Hana", "Igor Blum (he/him)"."""
    if len(line) > 60 or not names:
        return False
    bare = _SIGN_PREFIX.sub("", line).strip(" .,!")
    low = bare.lower()
    if low in names:
        return True
    words = _PARENS.sub("", bare).split()
    return bool(words) and words[0].lower() in names and 0 < len(words) - 1 <= 3 and all(w[:1].isupper() for w in words[1:])


_PARENS = re.compile(r"\([^)]*\)")
