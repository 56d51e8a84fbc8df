"""A local Maildir++ tree as a mail source: INBOX is the root, other folders are `.Name`.

Maildir has no UIDs; a message's UID here is its file's modification time in
microseconds, which grows with delivery (and with each mbsync/offlineimap download).
A file copied in with an older preserved time than the newest one already scanned is
not picked up by an incremental scan; `assistant rescan` reads everything again.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .config import MaildirSettings
from .errors import MailboxError
from .mail import RawMail
from .mime import raw_from_bytes
from .source import FolderStatus

_MSGID = re.compile(rb"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
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
                    if entry.is_file() and not entry.name.startswith("."):
                        found.append((entry.stat().st_mtime_ns // 1000, Path(entry.path)))
        found.sort()
        return found

    def folder_status(self, folder: str) -> FolderStatus:
        files = self._files(folder)
        return FolderStatus(UIDVALIDITY, (files[-1][0] + 1) if files else 1)

    def fetch_after(self, folder: str, after_uid: int, batch_size: int) -> Iterator[list[RawMail]]:
        batch: list[RawMail] = []
        for uid, path in self._files(folder):
            if uid <= after_uid:
                continue
            batch.append(raw_from_bytes(path.read_bytes(), folder=folder, uid=uid))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _drafts_dir(self) -> Path:
        path = self.root / f".{self.settings.drafts_folder}"
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        return path

    def drafts_present(self, message_ids: Iterable[str]) -> set[str]:
        wanted = set(message_ids)
        present = set()
        drafts = self._drafts_dir()
        for sub in ("cur", "new"):
            for path in (drafts / sub).iterdir():
                with path.open("rb") as fh:
                    head = fh.read(16384)
                present.update(m.decode("ascii", "replace") for m in _MSGID.findall(head))
        return present & wanted

    def append_draft(self, content: bytes) -> None:
        drafts = self._drafts_dir()
        unique = f"{time.time_ns()}.P{os.getpid()}.{socket.gethostname().replace('/', '_')}"
        tmp = drafts / "tmp" / unique
        tmp.write_bytes(content)
        os.replace(tmp, drafts / "cur" / f"{unique}:2,D")  # D: the Maildir flag for a draft

    def close(self) -> None:
        pass
