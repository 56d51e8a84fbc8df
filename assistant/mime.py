"""MIME structure: which parts of a message detection reads.

Both sources describe a message as a tree of `PartInfo` (IMAP from BODYSTRUCTURE,
Maildir from the parsed file) and ask `select_text_parts` which sections to read, so
that the two read the same text of the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

from .mail import RawMail, RawPart

# How deep attached messages are followed, and how much of one text part is read:
# enough for any real introduction, bounded for hostile input.
MAX_FORWARD_DEPTH = 3
MAX_TEXT_BYTES = 256 * 1024
# Headers fetched and kept: what parse and detect read.  Everything else stays on the server.
HEADER_FIELDS = (
    "From", "Sender", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID",
    "In-Reply-To", "References", "List-Id", "List-Unsubscribe", "List-Post", "Precedence",
    "Auto-Submitted", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress",
    "Content-Type", "X-Assistant-Task",
)

_MESSAGE_ID_FIELD = re.compile(rb"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)


def header_message_ids(head: bytes) -> set[str]:
    """The Message-IDs of a raw header block's Message-ID fields: how both sources find
    which of our drafts a folder holds."""
    return {found.decode("ascii", "replace") for found in _MESSAGE_ID_FIELD.findall(head)}


@dataclass(slots=True)
class PartInfo:
    section: str  # IMAP section number ("1", "2.1"); "" for the message itself
    ctype: str  # lower-case maintype/subtype
    charset: str = ""
    encoding: str = "7bit"
    disposition: str = ""  # lower-case: "attachment", "inline" or ""
    size: int = 0
    children: list[PartInfo] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TextChoice:
    part: PartInfo
    forwarded_header_section: str | None  # "2.HEADER" for a part inside an attached message


def _best_text(node: PartInfo) -> PartInfo | None:
    """The part a person reads: text/plain over text/html in an alternative, first in a mix."""
    if node.ctype.startswith("multipart/"):
        found = [p for p in (_best_text(c) for c in node.children) if p is not None]
        if not found:
            return None
        if node.ctype == "multipart/alternative":
            plain = [p for p in found if p.ctype == "text/plain"]
            return plain[0] if plain else found[0]
        return found[0]
    if node.ctype in ("text/plain", "text/html") and node.disposition != "attachment":
        return node
    return None


def _attached_messages(node: PartInfo) -> list[PartInfo]:
    if node.ctype == "message/rfc822":
        return [node]
    out: list[PartInfo] = []
    for child in node.children:
        out.extend(_attached_messages(child))
    return out


def select_text_parts(root: PartInfo, depth: int = 0) -> list[TextChoice]:
    """The main text part, then the text of each attached message (forwarded mail)."""
    choices: list[TextChoice] = []
    best = _best_text(root)
    if best is not None:
        choices.append(TextChoice(best, None))
    if depth >= MAX_FORWARD_DEPTH:
        return choices
    for attached in _attached_messages(root) if root.ctype != "message/rfc822" else []:
        inner = attached.children[0] if attached.children else None
        if inner is None:
            continue
        for choice in select_text_parts(inner, depth + 1):
            header = choice.forwarded_header_section or f"{attached.section}.HEADER"
            choices.append(TextChoice(choice.part, header))
    return choices


# --- Local messages (Maildir files, .eml) -------------------------------------------------

_parser = BytesParser(policy=policy.compat32)


def _header_block(data: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = data.find(sep)
        if end != -1:
            return data[: end + len(sep)]
    return data


def _tree(msg: Message, section: str, parts: dict[str, Message], depth: int = 0) -> PartInfo:
    ctype = msg.get_content_type()
    info = PartInfo(
        section=section,
        ctype=ctype,
        charset=msg.get_content_charset("") or "",  # decodes RFC 2231 parameters too
        encoding=str(msg.get("Content-Transfer-Encoding", "7bit")).strip().lower(),
        disposition=str(msg.get_content_disposition() or ""),
    )
    parts[section] = msg
    payload = msg.get_payload()
    if depth > 60:  # a hostile nest of parts: stop describing it
        return info
    if msg.is_multipart() and isinstance(payload, list):
        prefix = f"{section}." if section else ""
        if ctype == "message/rfc822":
            # The attached message itself; its body parts number from section.1 in IMAP.
            inner = payload[0]
            inner_parts: dict[str, Message] = {}
            inner_info = _tree(inner, "", inner_parts, depth + 1)
            _renumber(inner_info, section, inner_parts, parts, inner)
            info.children = [inner_info]
        else:
            info.children = [_tree(p, f"{prefix}{i}", parts, depth + 1) for i, p in enumerate(payload, 1)]
    elif not section:
        parts["1"] = msg  # IMAP calls a single-part message's body section 1
        info.section = "1"
    return info


def _renumber(info: PartInfo, base: str, inner_parts: dict[str, Message], parts: dict[str, Message], inner: Message) -> None:
    """Give an attached message's parts the section numbers IMAP gives them (base.N)."""
    mapping = {}
    for old, msg in inner_parts.items():
        new = f"{base}.{old}" if old else base
        mapping[old] = new
        parts[new] = msg
    parts[f"{base}.HEADER"] = inner

    def walk(node: PartInfo) -> None:
        node.section = mapping.get(node.section, node.section)
        for child in node.children:
            walk(child)

    walk(info)


def _payload_bytes(msg: Message) -> bytes:
    """The part's body with its transfer encoding undone and its 8-bit bytes intact.

    (`get_payload()` without decode would re-decode 8-bit text with the declared
    charset and replace what does not fit, losing an undeclared cp1252 "é".)
    """
    if msg.is_multipart():
        return b""
    payload = msg.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _serialise_headers(msg: Message) -> bytes:
    lines = [f"{name}: {value}\r\n" for name, value in msg.items()]
    return ("".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


def raw_from_bytes(data: bytes, folder: str = "", uid: int = 0) -> RawMail:
    """Describe a whole message file as a source would fetch it."""
    msg = _parser.parsebytes(data)
    parts: dict[str, Message] = {}
    root = _tree(msg, "", parts)
    raw_parts = []
    for choice in select_text_parts(root):
        body = _payload_bytes(parts[choice.part.section])
        forwarded = None
        if choice.forwarded_header_section:
            inner = parts.get(choice.forwarded_header_section)
            forwarded = _serialise_headers(inner) if inner is not None else b""
        raw_parts.append(
            RawPart(
                body=body[:MAX_TEXT_BYTES],
                subtype=choice.part.ctype.split("/", 1)[1],
                charset=choice.part.charset,
                encoding="8bit",  # _payload_bytes has undone the transfer encoding
                forwarded_header=forwarded,
                truncated=len(body) > MAX_TEXT_BYTES,
            )
        )
    return RawMail(folder=folder, uid=uid, header=_header_block(data), parts=tuple(raw_parts), size=len(data))
