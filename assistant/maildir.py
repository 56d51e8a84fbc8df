"""A local Maildir++ tree as a mail source: INBOX is the root, other folders are `.Name`.

Maildir has no UIDs; a message's UID here is its file's modification time in
microseconds, which grows with delivery (and with each mbsync/offlineimap download).
A file copied in with an older preserved time than the newest one already scanned is
not picked up by an incremental scan; `assistant rescan` reads everything again.
"""

from __future__ import annotations

import glob
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from .config import MaildirSettings
from .errors import MailboxError
from .mail import RawMail
from .mime import header_message_ids, raw_from_bytes
from .source import FolderStatus, TextSelector

T = TypeVar("T")
UIDVALIDITY = 1  # file times never restart, so a Maildir folder's UIDs stay valid


class MaildirSource:
    def __init__(self, settings: MaildirSettings):
        self.root = Path(settings.path).expanduser()
        self.settings = settings
        if not (self.root / "cur").is_dir():
            raise MailboxError(f"{self.root}: not a Maildir (no cur/ folder)")

    def folder_path(self, folder: str) -> Path:
        path = self.root if folder.upper() == "INBOX" else self.root / f".{folder}"
        if not (path / "cur").is_dir():
            raise MailboxError(f"{path}: no such Maildir folder {folder!r}")
        return path

    def _files(self, folder: str) -> list[tuple[int, Path]]:
        path = self.folder_path(folder)
        found = []
        for sub in ("new", "cur"):
            with os.scandir(path / sub) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    listed = _follow(Path(entry.path), lambda p: (p.stat().st_mtime_ns // 1000, p))
                    if listed is not None:
                        found.append(listed)
        found.sort()
        return found

    def folder_status(self, folder: str) -> FolderStatus:
        files = self._files(folder)
        return FolderStatus(UIDVALIDITY, (files[-1][0] + 1) if files else 1)

    def fetch_after(self, folder: str, after_uid: int, batch_size: int,
                    select_text: TextSelector | None = None) -> Iterator[list[RawMail]]:
        files = [(uid, path) for uid, path in self._files(folder) if uid > after_uid]
        for start in range(0, len(files), batch_size):
            batch = []
            for uid, path in files[start : start + batch_size]:
                data = _follow(path, Path.read_bytes)
                if data is not None:  # None: deleted since it was listed
                    batch.append(raw_from_bytes(data, folder=folder, uid=uid))
            if select_text is not None:
                # A local file is read whole anyway; dropping the unwanted text keeps
                # what the scan sees the same as from IMAP.
                wanted = select_text([replace(raw, parts=()) for raw in batch])
                batch = [raw if raw.uid in wanted else replace(raw, parts=()) for raw in batch]
            yield batch

    def drafts_folder(self) -> str:
        return str(self.drafts_dir())

    def drafts_dir(self) -> Path:
        path = self.root / f".{self.settings.drafts_folder}"
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        return path

    def drafts_present(self, message_ids: Iterable[str]) -> set[str]:
        wanted = set(message_ids)
        present = set()
        for _, head in _header_blocks(self.drafts_dir()):
            present.update(header_message_ids(head))
        return present & wanted

    def append_drafts(self, contents: Sequence[bytes]) -> None:
        for content in contents:
            _deliver(self.drafts_dir(), content, "D")  # D: the Maildir flag for a draft

    def close(self) -> None:
        pass

    # --- sending (issue 5): read back, remove and file drafts -----------------------------

    def sent_folder(self) -> str:
        return self.settings.sent_folder

    def _matching(self, path: Path, message_id: str, tag: str) -> list[Path]:
        """Files of a folder with this Message-ID (or X-Assistant-Task tag), oldest first."""
        found = []
        want_tag = re.compile(rb"^x-assistant-task:\s*" + re.escape(tag.encode()) + rb"\s*$", re.IGNORECASE | re.MULTILINE) if tag else None
        for entry, head in _header_blocks(path):
            if message_id in header_message_ids(head) or (want_tag and want_tag.search(head)):
                found.append(entry)
        return sorted(found, key=lambda p: p.stat().st_mtime_ns)

    def message_in_folder(self, folder: str, message_id: str) -> bool:
        return bool(self._matching(self.root / f".{folder}", message_id, ""))

    def message_in_sent(self, message_id: str) -> bool:
        return self.message_in_folder(self.settings.sent_folder, message_id)

    def read_draft(self, message_id: str, tag: str) -> bytes | None:
        found = self._matching(self.drafts_dir(), message_id, tag)
        return found[-1].read_bytes() if found else None

    def remove_draft(self, message_id: str, tag: str) -> int:
        found = self._matching(self.drafts_dir(), message_id, tag)
        for path in found:
            path.unlink(missing_ok=True)
        return len(found)

    def append_sent(self, content: bytes) -> None:
        _deliver(self.root / f".{self.settings.sent_folder}", content, "S")


def _header_blocks(folder: Path) -> Iterator[tuple[Path, bytes]]:
    """(file, header block) of each message of a Maildir folder; trashed ones (flag T) left out."""
    for sub in ("cur", "new"):
        if not (folder / sub).is_dir():
            continue
        for entry in (folder / sub).iterdir():
            if "T" in entry.name.rpartition(":2,")[2]:
                continue
            with entry.open("rb") as fh:
                yield entry, fh.read(16384).split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]


def _deliver(folder: Path, content: bytes, flags: str) -> None:
    """Write a message into a Maildir folder the Maildir way: tmp/ first, then renamed into cur/."""
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    unique = f"{time.time_ns()}.P{os.getpid()}.{socket.gethostname().replace('/', '_')}"
    (folder / "tmp" / unique).write_bytes(content)
    os.replace(folder / "tmp" / unique, folder / "cur" / f"{unique}:2,{flags}")


def _moved(path: Path) -> Path | None:
    """Where a message listed at `path` is now: a sync tool may have renamed it since (a
    flag change, new/ to cur/), keeping its unique name and its time.  None once deleted."""
    unique = path.name.split(":", 1)[0]
    moved = [p for sub in ("cur", "new") for p in (path.parent.parent / sub).glob(glob.escape(unique) + "*")]
    return moved[0] if moved else None


def _follow(path: Path, read: Callable[[Path], T]) -> T | None:
    """`read(path)`, following the file if it is renamed under us; None if it is gone."""
    for _ in range(3):  # it can move again while we look
        try:
            return read(path)
        except FileNotFoundError:
            moved = _moved(path)
            if moved is None:
                return None
            path = moved
    return None
