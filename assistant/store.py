"""Store: the state in one SQLite file (WAL), its migrations, and the scan bookkeeping.

Numbered SQL files in `migrations/` are applied once each, in order, and recorded in
`schema_migrations`.  A non-blocking lock file keeps two runs from scanning at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from .errors import LockedError
from .mail import Detection, Mail

DB_NAME = "assistant.sqlite3"


# A list bound as one JSON parameter: one query whatever its length (SQLite limits bound variables).
IN_LIST = "IN (SELECT value FROM json_each(?))"

def utcnow_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("assistant").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append((int(number), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (the connection is in autocommit)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(sql: str) -> Iterator[str]:
    """The statements of a migration, one at a time (executescript would commit on its own)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer
            buffer = ""
    if any(line.strip() and not line.strip().startswith("--") for line in buffer.splitlines()):
        yield buffer  # a last statement without its semicolon


@dataclass(frozen=True, slots=True)
class FolderState:
    uidvalidity: int
    last_uid: int
    highestmodseq: int | None


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, directory: Path) -> Store:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / DB_NAME
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        os.chmod(path, 0o600)  # contacts, excerpts of mail and drafts: the user's eyes only
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        store = cls(conn, path)
        store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in _migrations():
            if version in done:
                continue
            with self.transaction():
                for statement in _statements(sql):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, utcnow_iso())
                )

    def transaction(self):
        return transaction(self.conn)

    # --- scan bookkeeping ---------------------------------------------------------------

    def folder_state(self, account: str, folder: str) -> FolderState | None:
        row = self.conn.execute(
            "SELECT uidvalidity, last_uid, highestmodseq FROM folders WHERE account=? AND folder=?",
            (account, folder),
        ).fetchone()
        return FolderState(row[0], row[1], row[2]) if row else None

    def save_folder_state(self, account: str, folder: str, state: FolderState) -> None:
        self.conn.execute(
            "INSERT INTO folders (account, folder, uidvalidity, last_uid, highestmodseq, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, folder) DO UPDATE SET"
            " uidvalidity=excluded.uidvalidity, last_uid=excluded.last_uid,"
            " highestmodseq=excluded.highestmodseq, updated_at=excluded.updated_at",
            (account, folder, state.uidvalidity, state.last_uid, state.highestmodseq, utcnow_iso()),
        )

    def known_message_ids(self, account: str, message_ids: Iterable[str]) -> set[str]:
        ids = json.dumps(list(message_ids))
        return {row[0] for row in self.conn.execute(
            f"SELECT message_id FROM messages WHERE account=? AND message_id {IN_LIST}", (account, ids))}

    def record_messages(self, account: str, processed: list[tuple[Mail, Detection, str | None]]) -> None:
        """Remember processed messages (mail, detection, excerpt); for one that opens a lead,
        also what drafts need to answer it in its thread (recipients for reply-all,
        references, an excerpt).  One statement a batch: a first scan records thousands."""
        seen_at = utcnow_iso()
        rows = []
        for mail, detection, excerpt in processed:
            lead = detection.kind != "none"
            rows.append((
                account,
                mail.message_id,
                mail.folder,
                mail.uid,
                mail.date.isoformat() if mail.date else None,
                mail.sender.email if mail.sender else None,
                mail.subject[:500],
                detection.kind,
                detection.confidence,
                json.dumps(detection.as_dict()) if lead else None,
                seen_at,
                json.dumps({key: [[p.name, p.email] for p in people] for key, people in
                            (("to", mail.to), ("cc", mail.cc), ("reply_to", mail.reply_to))}) if lead else None,
                " ".join(f"<{ref}>" for ref in mail.references) if lead else None,
                excerpt,
            ))
        self.conn.executemany(
            "INSERT OR IGNORE INTO messages (account, message_id, folder, uid, date, sender, subject, kind,"
            " confidence, detection, status, seen_at, recipients, refs, excerpt)"
            " VALUES (?,?,?,?,?,?,?,?,?,?, 'processed', ?,?,?,?)",
            rows,
        )

    def record_skipped(self, account: str, folder: str, uid: int, message_id: str, reason: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO messages (account, message_id, folder, uid, status, reason, seen_at)"
            " VALUES (?, ?, ?, ?, 'skipped', ?, ?)",
            (account, message_id, folder, uid, reason[:500], utcnow_iso()),
        )


@contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """Hold the state directory's lock for one run; fail at once if another run has it."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another assistant run holds {directory / 'lock'}; try again when it ends") from None
        yield
    finally:
        os.close(fd)
