"""IMAP source: imapclient for the session, a lean two-phase fetch for the bulk of the mail.

Phase 1 fetches, per batch of UIDs, the few header fields detection reads and the
BODYSTRUCTURE; phase 2 fetches only the text parts `mime.select_text_parts` chose,
cut at `MAX_TEXT_BYTES`.  Attachments never cross the network.  Folders are opened
with EXAMINE and bodies with BODY.PEEK, so no flag changes; the only write is APPEND
to the Drafts folder.  The bulk FETCH responses are read by the small parser below:
imapclient's general one costs more than the network does here (see README).
"""

from __future__ import annotations

import imaplib
import json
import logging
import re
import ssl
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from . import credentials
from .config import ImapSettings
from .errors import AuthError, ConnectError, MailboxError, TLSError
from .mail import RawMail, RawPart
from .mime import HEADER_FIELDS, MAX_TEXT_BYTES, PartInfo, header_message_ids, select_text_parts
from .source import FolderStatus, TextSelector
from .tls import hint_for, ssl_context

log = logging.getLogger(__name__)
_HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]"
COMMON_DRAFTS = ("Drafts", "INBOX.Drafts", "[Gmail]/Drafts", "Draft", "Entwürfe", "Brouillons")
COMMON_SENT = ("Sent", "INBOX.Sent", "[Gmail]/Sent Mail", "Sent Items", "Sent Messages", "Gesendet", "Envoyés")


def open_client(settings: ImapSettings) -> imapclient.IMAPClient:
    """A connected (not logged in) client; errors translated with host:port and a hint."""
    where = f"{settings.host}:{settings.port}"
    context = ssl_context(settings.ca_file)
    try:
        client = imapclient.IMAPClient(
            settings.host,
            port=settings.port,
            ssl=settings.security == "tls",
            ssl_context=context,
            timeout=settings.timeout,
        )
        if settings.security == "starttls":
            client.starttls(context)
    except ssl.SSLError as exc:
        raise TLSError(f"{where}: TLS failed: {hint_for(exc)}") from None
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise ConnectError(f"{where}: cannot connect: {hint_for(exc)}") from None
    return client


def login(client: imapclient.IMAPClient, settings: ImapSettings, cred: credentials.Credential) -> None:
    try:
        client.login(cred.username, cred.password)
    except LoginError:
        raise AuthError(
            f"{settings.host}:{settings.port}: login refused for {cred.username!r} "
            f"(password from {cred.source}); check the username and password"
        ) from None


# --- FETCH response reading --------------------------------------------------------------

# One FETCH token a match: ( ) "quoted" {literal} or an atom such as BODY[HEADER.FIELDS (FROM)]<0>.
_TOKEN = re.compile(rb'(\()|(\))|"((?:[^"\\]|\\.)*)"|\{(\d+)\}$|([^\s()"\[\]{]+(?:\[[^\]]*\](?:<\d+>)?)?)')
_ESCAPED = re.compile(rb"\\(.)")
_OPEN, _CLOSE, _QUOTED, _LITERAL = 1, 2, 3, 4


def _top_lists(data: list) -> Iterator[list]:
    """Each top-level parenthesised list in imaplib-shaped FETCH data, nested as lists.

    The data is lines and (line ending in {n}, literal) pairs; they are read in one
    pass, the hot loop of a scan, so it stays flat."""
    stack: list[list] = []
    current: list = []
    for item in data:
        if isinstance(item, tuple):
            line, literal = item
        elif isinstance(item, bytes):
            line, literal = item, None
        else:
            continue
        for match in _TOKEN.finditer(line):
            kind = match.lastindex
            if kind == _OPEN:
                stack.append(current)
                current = []
            elif kind == _CLOSE:
                finished = current
                current = stack.pop() if stack else []
                if stack:
                    current.append(finished)
                else:
                    yield finished
                    current = []
            elif not stack:
                continue  # "* 12 FETCH" before "("
            elif kind == _QUOTED:
                value = match.group(_QUOTED)
                current.append(_ESCAPED.sub(rb"\1", value) if b"\\" in value else value)
            elif kind == _LITERAL:
                current.append(literal if literal is not None else b"")
            else:
                current.append(match.group(kind))


def parse_fetch(data: list) -> dict[int, dict[bytes, object]]:
    """A UID FETCH response as {uid: {ITEM: value}}, parentheses as nested lists."""
    out: dict[int, dict[bytes, object]] = {}
    for finished in _top_lists(data):
        items = dict(zip(finished[::2], finished[1::2]))
        uid = items.get(b"UID")
        if isinstance(uid, bytes) and uid.isdigit():
            out[int(uid)] = items
    return out


def body_sections(items: dict[bytes, object]) -> dict[str, bytes]:
    """The BODY[section] values among one message's FETCH items, by section
    ("1", "2.HEADER", "HEADER.FIELDS (FROM TO)")."""
    return {key[5 : key.index(b"]")].decode("ascii", "replace"): bytes(value) for key, value in items.items()
            if key.startswith(b"BODY[") and b"]" in key and isinstance(value, bytes)}


# Phase one's answer for one message as Dovecot and most servers give it: the items in
# the order asked, no literal inside the BODYSTRUCTURE.  Its BODYSTRUCTURE stays bytes
# until the header screen wants the message's text: most mail never needs it parsed.
_PHASE_ONE = re.compile(
    rb"\* \d+ FETCH \(UID (\d+) RFC822\.SIZE (\d+) BODYSTRUCTURE (\(.*\)) BODY\[HEADER\.FIELDS \([^()]*\)\] \{\d+\}",
    re.DOTALL,
)


@dataclass(slots=True)
class PhaseOne:
    header: bytes
    size: int
    structure: object  # BODYSTRUCTURE as nested lists, or as its unparsed bytes

    def parts(self) -> PartInfo:
        structure = self.structure
        if isinstance(structure, bytes):
            structure = _usual_structure(structure) or next(_top_lists([structure]), None)
        return structure_to_parts(structure)


# Between the quoted strings of a BODYSTRUCTURE as Dovecot and most servers write it:
# parentheses, NIL, numbers and single spaces.
_USUAL_BETWEEN = re.compile(r"[()NIL0-9 ]*")


def _usual_structure(raw: bytes) -> list | None:
    """A BODYSTRUCTURE in its usual form (no literal, no escape) read as JSON, once the
    parentheses, NILs and spaces outside its strings are written as JSON's: three times
    quicker than the token loop.  None for anything else, which that loop reads."""
    if b"\\" in raw or b"{" in raw:
        return None
    pieces = raw.decode("utf-8", "replace").split('"')
    between = pieces[::2]
    if not _USUAL_BETWEEN.fullmatch("".join(between)):
        return None
    pieces[::2] = [p.replace("NIL", "null").replace(" ", ",").replace(")(", "),(").replace("(", "[").replace(")", "]")
                   for p in between]
    try:
        structure = json.loads('"'.join(pieces))
    except ValueError:  # two spaces, a number with a leading zero, ...: not the usual form
        return None
    return structure if isinstance(structure, list) else None


def parse_phase_one(data: list) -> dict[int, PhaseOne]:
    """Phase one's FETCH response as {uid: PhaseOne}: the common shape by one regex
    match a message, anything else through `parse_fetch`."""
    out: dict[int, PhaseOne] = {}
    other: list = []
    for k, item in enumerate(data):
        if isinstance(item, tuple) and (found := _PHASE_ONE.fullmatch(item[0])) and k + 1 < len(data) and data[k + 1] == b")":
            out[int(found.group(1))] = PhaseOne(item[1], int(found.group(2)), found.group(3))
        elif not (item == b")" and k and isinstance(data[k - 1], tuple) and _PHASE_ONE.fullmatch(data[k - 1][0])):
            other.append(item)
    for uid, items in parse_fetch(other).items():
        header = next((v for section, v in body_sections(items).items() if section.startswith("HEADER")), b"")
        size = items.get(b"RFC822.SIZE", b"0")
        out[uid] = PhaseOne(header, int(size) if isinstance(size, bytes) and size.isdigit() else 0, items.get(b"BODYSTRUCTURE"))
    return out


_MAX_LINE = 1 << 20  # a FETCH response line between literals is short; a longer one is an attack


def read_fetch(imap: imaplib.IMAP4, command: bytes) -> tuple[bytes, list]:
    """Send a FETCH and read its whole response: (completion status, FETCH data as
    `parse_fetch` reads it: lines, and (line ending in {n}, literal) pairs).

    This reads the connection's buffered stream directly, a line or a literal a call,
    instead of through imaplib's general response loop, whose per-line work (a regex
    match, untagged-response bookkeeping, debug logging) costs more than the network
    does on a large first scan.  It consumes exactly this command's response, so the
    imaplib session goes on as if imaplib had read it.  Untagged responses other than
    FETCH (EXISTS, EXPUNGE, FLAGS) are dropped: a scan works by UID and asks the
    folder's status again next time."""
    tag = imap._new_tag()
    imap.send(tag + b" " + command + b"\r\n")
    readline, read = imap.file.readline, imap.file.read
    prefix = tag + b" "
    data: list = []
    try:
        while True:
            line = readline(_MAX_LINE)
            if not line.endswith(b"\n"):
                raise imaplib.IMAP4.abort("connection closed or line too long in a FETCH response")
            if line.startswith(prefix):
                return line[len(prefix):].split(b" ", 1)[0].upper(), data
            fetch = line.startswith(b"* ") and b" FETCH " in line[:24]
            while line.endswith(b"}\r\n"):  # a literal follows, then the rest of the same response
                size = line[line.rindex(b"{") + 1 : -3]
                if not size.isdigit():
                    break
                literal = read(int(size))
                if len(literal) != int(size):
                    raise imaplib.IMAP4.abort("connection closed inside a literal")
                if fetch:
                    data.append((line[:-2], literal))
                line = readline(_MAX_LINE)
                if not line.endswith(b"\n"):
                    raise imaplib.IMAP4.abort("connection closed or line too long in a FETCH response")
            if fetch:
                data.append(line[:-2])
    finally:
        imap.tagged_commands.pop(tag, None)


def _text(value: object) -> str:
    """An atom or string as text.  The JSON reading gives str, int for a number and None
    for NIL: each as the text the token loop would have given."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, int):
        return str(value)
    return "NIL" if value is None else ""


def _number(value: object) -> int:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, bytes) and value.isdigit() else 0


def _params(value: object) -> dict[str, str]:
    if not isinstance(value, list):
        return {}
    return {_text(k).lower(): _text(v) for k, v in zip(value[::2], value[1::2])}


def _disposition(value: object) -> str:
    if isinstance(value, list) and value:
        return _text(value[0]).lower()
    return ""


def structure_to_parts(body: object, section: str = "", depth: int = 0) -> PartInfo:
    """BODYSTRUCTURE as the `PartInfo` tree `mime` selects from (section numbers as IMAP's):
    nested lists of bytes as the token loop reads it, or of str, int and None as JSON does."""
    if not isinstance(body, list) or not body or depth > 60:
        return PartInfo(section=section or "1", ctype="application/octet-stream")
    if isinstance(body[0], list):  # multipart: children, then the subtype
        prefix = f"{section}." if section else ""
        children = []
        index = 0
        for item in body:
            if not isinstance(item, list):
                break
            index += 1
            children.append(structure_to_parts(item, f"{prefix}{index}", depth + 1))
        subtype = _text(body[index]).lower() if index < len(body) else "mixed"
        return PartInfo(section=section, ctype=f"multipart/{subtype}", children=children)
    section = section or "1"
    maintype, subtype = _text(body[0]).lower(), _text(body[1]).lower() if len(body) > 1 else ""
    if maintype in ("", "nil") or (maintype == "text" and subtype in ("", "nil")):
        # An unreadable Content-Type ("text" alone): text/plain, as RFC 2045 and Python read it.
        maintype, subtype = "text", "plain"
    ctype = f"{maintype}/{subtype}"
    params = _params(body[2]) if len(body) > 2 else {}
    info = PartInfo(
        section=section,
        ctype=ctype,
        charset=params.get("charset", ""),
        encoding=_text(body[5]).lower() if len(body) > 5 else "7bit",
        size=_number(body[6]) if len(body) > 6 else 0,
    )
    if ctype == "message/rfc822" and len(body) > 8:
        inner = body[8]
        inner_info = structure_to_parts(inner, section if isinstance(inner, list) and inner and isinstance(inner[0], list) else f"{section}.1", depth + 1)
        info.children = [inner_info]
        info.disposition = _disposition(body[11]) if len(body) > 11 else ""
    elif ctype.startswith("text/"):
        info.disposition = _disposition(body[9]) if len(body) > 9 else ""
    else:
        info.disposition = _disposition(body[8]) if len(body) > 8 else ""
    return info


def uid_set(uids: Iterable[int]) -> str:
    """Compress sorted UIDs into an IMAP sequence set: 1:5,7,9:12."""
    ranges: list[str] = []
    start = prev = None
    for uid in sorted(uids):
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            ranges.append(f"{start}:{prev}" if prev != start else str(start))
            start = prev = uid
    if start is not None:
        ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


class ImapSource:
    def __init__(self, client: imapclient.IMAPClient, settings: ImapSettings):
        self.client = client
        self.settings = settings
        self.capabilities = {c.decode().upper() if isinstance(c, bytes) else str(c).upper() for c in client.capabilities()}
        self._role_folders: dict[str, str] = {}  # SPECIAL-USE flag -> folder name

    @classmethod
    def connect(cls, account: str, settings: ImapSettings, fallback_username: str) -> ImapSource:
        username = settings.username or fallback_username
        cred = credentials.find(account, username, settings.password_command)
        client = open_client(settings)
        login(client, settings, cred)
        return cls(client, settings)

    def _uid_fetch(self, uids: str, items: str) -> list:
        try:
            status, data = read_fetch(self.client._imap, f"UID FETCH {uids} {items}".encode("ascii"))
        except (imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self.settings.host}: FETCH failed: {exc}") from None
        if status != b"OK":
            raise MailboxError(f"{self.settings.host}: FETCH answered {status.decode('ascii', 'replace')}")
        return data

    def folder_status(self, folder: str) -> FolderStatus:
        what = [b"UIDVALIDITY", b"UIDNEXT"]
        if "CONDSTORE" in self.capabilities:
            what.append(b"HIGHESTMODSEQ")
        try:
            status = self.client.folder_status(folder, what)
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: folder {folder!r}: {exc}") from None
        return FolderStatus(
            uidvalidity=int(status[b"UIDVALIDITY"]),
            uidnext=int(status[b"UIDNEXT"]),
            highestmodseq=int(status[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in status else None,
        )

    def fetch_after(self, folder: str, after_uid: int, batch_size: int,
                    select_text: TextSelector | None = None) -> Iterator[list[RawMail]]:
        try:
            self.client.select_folder(folder, readonly=True)  # EXAMINE: flags stay as they are
            uids = sorted(u for u in self.client.search(["UID", f"{after_uid + 1}:*"]) if u > after_uid)
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: folder {folder!r}: {exc}") from None
        for start in range(0, len(uids), batch_size):
            yield self._fetch_batch(folder, uids[start : start + batch_size], select_text)

    def _fetch_batch(self, folder: str, uids: list[int], select_text: TextSelector | None) -> list[RawMail]:
        first = parse_phase_one(self._uid_fetch(uid_set(uids), f"(UID RFC822.SIZE BODYSTRUCTURE {_HEADER_ITEM})"))
        choices: dict[int, list] = {}  # the text parts chosen for each selected message
        by_sections: dict[tuple[str, ...], list[int]] = defaultdict(list)
        if select_text is None:
            selected = set(first)
        else:
            selected = select_text([RawMail(folder, uid, item.header, (), item.size) for uid, item in first.items()])
        for uid in selected & first.keys():
            choices[uid] = select_text_parts(first[uid].parts())
            sections = []
            for choice in choices[uid]:
                sections.append(choice.part.section)
                if choice.forwarded_header_section:
                    sections.append(choice.forwarded_header_section)
            if sections:
                by_sections[tuple(dict.fromkeys(sections))].append(uid)
        bodies: dict[tuple[int, str], bytes] = {}
        for sections, group in by_sections.items():
            items = " ".join(f"BODY.PEEK[{s}]<0.{MAX_TEXT_BYTES + 1}>" for s in sections)
            for uid, got in parse_fetch(self._uid_fetch(uid_set(group), f"(UID {items})")).items():
                for section, value in body_sections(got).items():
                    bodies[(uid, section)] = value
        out = []
        for uid in uids:
            item = first.get(uid)
            if item is None:  # expunged between SEARCH and FETCH
                continue
            parts = []
            for choice in choices.get(uid, ()):
                body = bodies.get((uid, choice.part.section), b"")
                forwarded = bodies.get((uid, choice.forwarded_header_section), b"") if choice.forwarded_header_section else None
                parts.append(
                    RawPart(
                        body=body[:MAX_TEXT_BYTES],
                        subtype=choice.part.ctype.split("/", 1)[1],
                        charset=choice.part.charset,
                        encoding=choice.part.encoding,
                        forwarded_header=forwarded,
                        truncated=len(body) > MAX_TEXT_BYTES,
                    )
                )
            out.append(RawMail(folder=folder, uid=uid, header=item.header, parts=tuple(parts), size=item.size))
        return out

    # --- folders and drafts ---------------------------------------------------------------

    def list_folders(self) -> list[tuple[set[str], str]]:
        try:
            listed = self.client.list_folders()
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: LIST failed: {exc}") from None
        return [({f.decode() if isinstance(f, bytes) else str(f) for f in flags}, name) for flags, _, name in listed]

    def special_folder(self, flag: str, configured: str, common: tuple[str, ...]) -> str | None:
        """The configured folder (if it exists), else the one with SPECIAL-USE `flag`, else a common name."""
        folders = self.list_folders()
        if configured:
            return configured if any(name == configured for _, name in folders) else None
        for flags, name in folders:
            if flag in flags:
                return name
        names = {name for _, name in folders}
        return next((name for name in common if name in names), None)

    def _role_folder(self, flag: str, configured: str, common: tuple[str, ...], key: str) -> str:
        """The Drafts or Sent folder, looked up (one LIST) once a session."""
        if flag not in self._role_folders:
            found = self.special_folder(flag, configured, common)
            if found is None:
                raise MailboxError(
                    f"{self.settings.host}: no {key.removesuffix('_folder').title()} folder (no SPECIAL-USE "
                    f"{flag}, none of {', '.join(common)}); set {key} in the config"
                )
            self._role_folders[flag] = found
        return self._role_folders[flag]

    def drafts_folder(self) -> str:
        return self._role_folder("\\Drafts", self.settings.drafts_folder, COMMON_DRAFTS, "drafts_folder")

    def drafts_present(self, message_ids: Iterable[str]) -> set[str]:
        wanted = set(message_ids)
        if not wanted:
            return set()
        folder = self.drafts_folder()
        try:
            if not self.client.select_folder(folder, readonly=True).get(b"EXISTS"):
                return set()
            # Every draft's Message-ID in one FETCH: a SEARCH a draft would cost a round
            # trip, and the server a pass over the folder, for each of them.
            status, data = read_fetch(self.client._imap, b"UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        except (IMAPClientError, imaplib.IMAP4.error, OSError) as exc:
            raise MailboxError(f"{self.settings.host}: reading {folder!r} failed: {exc}") from None
        if status != b"OK":
            raise MailboxError(f"{self.settings.host}: reading {folder!r} answered {status.decode('ascii', 'replace')}")
        present = set()
        for items in parse_fetch(data).values():
            for value in body_sections(items).values():
                present.update(header_message_ids(value))
        return present & wanted

    def append_drafts(self, contents: Sequence[bytes]) -> None:
        folder = self.drafts_folder()
        flags = (imapclient.DRAFT, imapclient.SEEN)
        try:
            if len(contents) > 1 and "MULTIAPPEND" in self.capabilities:  # one command, one round trip
                self.client.multiappend(folder, [{"msg": content, "flags": flags} for content in contents])
            else:
                for content in contents:
                    self.client.append(folder, content, flags=flags)
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: APPEND to {folder!r} failed: {exc}") from None

    def close(self) -> None:
        try:
            self.client.logout()
        except (IMAPClientError, OSError):
            pass

    # --- sending (issue 5): read back, remove and file drafts -----------------------------
    # Removal touches only the draft's own UIDs: UID EXPUNGE (UIDPLUS), else UID MOVE to
    # the Trash; never a plain EXPUNGE, which would also purge what the user marked \Deleted.

    def sent_folder(self) -> str:
        return self._role_folder("\\Sent", self.settings.sent_folder, COMMON_SENT, "sent_folder")

    def _search_drafts(self, message_id: str, tag: str, readonly: bool) -> list[int]:
        self.client.select_folder(self.drafts_folder(), readonly=readonly)
        by_id = ["HEADER", "Message-ID", f"<{message_id}>"]
        criteria = ["OR", *by_id, "HEADER", "X-Assistant-Task", tag] if tag else by_id
        return sorted(self.client.search(["NOT", "DELETED", *criteria]))

    def message_in_folder(self, folder: str, message_id: str) -> bool:
        try:
            self.client.select_folder(folder, readonly=True)
            return bool(self.client.search(["NOT", "DELETED", "HEADER", "Message-ID", f"<{message_id}>"]))
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: SEARCH in {folder!r} failed: {exc}") from None

    def message_in_sent(self, message_id: str) -> bool:
        return self.message_in_folder(self.sent_folder(), message_id)

    def read_draft(self, message_id: str, tag: str) -> bytes | None:
        try:
            uids = self._search_drafts(message_id, tag, readonly=True)
            if not uids:
                return None
            data = self.client.fetch([uids[-1]], ["BODY.PEEK[]"])  # the newest: a client's latest save
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: reading a draft failed: {exc}") from None
        item = data.get(uids[-1])
        return bytes(item[b"BODY[]"]) if item else None

    def remove_draft(self, message_id: str, tag: str) -> int:
        try:
            uids = self._search_drafts(message_id, tag, readonly=False)
            if not uids:
                return 0
            if "UIDPLUS" in self.capabilities:
                self.client.add_flags(uids, [imapclient.DELETED], silent=True)
                self.client.uid_expunge(uids)
                return len(uids)
            trash = self.special_folder("\\Trash", "", ("Trash", "INBOX.Trash", "[Gmail]/Trash", "Deleted Items"))
            if "MOVE" in self.capabilities and trash:
                self.client.move(uids, trash)
                return len(uids)
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: removing the draft failed: {exc}") from None
        raise MailboxError(f"{self.settings.host}: cannot remove one draft alone (no UIDPLUS, no MOVE to a Trash); "
                           "delete it in your mail client")

    def append_sent(self, content: bytes) -> None:
        try:
            self.client.append(self.sent_folder(), content, flags=[imapclient.SEEN])
        except IMAPClientError as exc:
            raise MailboxError(f"{self.settings.host}: APPEND to {self.sent_folder()!r} failed: {exc}") from None
