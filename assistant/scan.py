"""Scan: the pipeline run cron starts.  Source -> parse -> detect -> rules -> store -> drafts.

Per folder, only UIDs above the last one done are fetched (a UIDVALIDITY change reads
the folder again; the message table keeps that from repeating work).  Each batch is
one SQLite transaction that records the messages, opens their tasks, renders their
drafts and advances the folder's last UID together, so a crash anywhere repeats at
most an unfinished batch and never skips one.  Drafts are appended after the commit;
one left pending by a crash is appended (or found already there) by the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from . import drafts, rules, tasks
from .config import AccountSettings, Settings
from .detect import detect
from .mail import RawMail
from .parse import ParseError, parse
from .source import FolderStatus, MailSource
from .store import FolderState, Store

log = logging.getLogger(__name__)


@dataclass
class ScanReport:
    account: str
    messages: int = 0  # new messages read
    skipped: int = 0  # messages that could not be read, with a logged reason
    duplicates: int = 0  # already processed (another folder, or a rescan)
    detected: dict[str, int] = field(default_factory=dict)
    tasks_opened: int = 0
    drafts_appended: int = 0
    folders_unchanged: int = 0
    found: list[dict] = field(default_factory=list)  # one entry a positive detection

    def as_dict(self) -> dict:
        return {
            "account": self.account,
            "messages": self.messages,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "detected": self.detected,
            "tasks_opened": self.tasks_opened,
            "drafts_appended": self.drafts_appended,
            "folders_unchanged": self.folders_unchanged,
            "found": self.found,
        }


Progress = Callable[[str, int, int], None]  # folder, done, total


def _unchanged(saved: FolderState | None, status: FolderStatus) -> bool:
    return saved is not None and saved.uidvalidity == status.uidvalidity and status.uidnext - 1 <= saved.last_uid


def _process_batch(store: Store, env_holder: list, settings: Settings, name: str, account: AccountSettings,
                   batch: list[RawMail], now: datetime, report: ScanReport) -> None:
    me = account.addresses
    parsed = []
    for raw in batch:
        try:
            parsed.append(parse(raw))
        except (ParseError, ValueError, LookupError) as exc:
            log.warning("skipped %s UID %d: cannot parse: %s", raw.folder, raw.uid, exc)
            store.record_skipped(name, raw.folder, raw.uid, f"unparseable:{raw.folder}:{raw.uid}", f"cannot parse: {exc}")
            report.skipped += 1
    known = store.known_message_ids(name, (m.message_id for m in parsed))
    new_task_ids: list[int] = []
    for mail in parsed:
        if mail.message_id in known:
            report.duplicates += 1
            continue
        known.add(mail.message_id)  # the same message twice in one batch
        report.messages += 1
        for defect in mail.defects:
            log.info("%s UID %d: %s", mail.folder, mail.uid, defect)
        detection = detect(mail, me)
        store.record_message(name, mail, detection)
        report.detected[detection.kind] = report.detected.get(detection.kind, 0) + 1
        specs = rules.plan(mail, detection, settings.schedule, now)
        opened = tasks.open_tasks(store.conn, name, mail, detection, specs)
        new_task_ids.extend(opened)
        if detection.kind != "none":
            report.found.append({"folder": mail.folder, "uid": mail.uid, "subject": mail.subject,
                                 **detection.as_dict(), "tasks": len(opened)})
    report.tasks_opened += len(new_task_ids)
    if new_task_ids:
        if not env_holder:
            env_holder.append(drafts.environment(settings.drafts))
        drafts.prepare(store.conn, env_holder[0], new_task_ids, name, account)


def scan_account(store: Store, source: MailSource, settings: Settings, name: str, now: datetime,
                 progress: Progress | None = None) -> ScanReport:
    account = settings.accounts[name]
    folders = account.imap.folders if account.imap else account.maildir.folders  # type: ignore[union-attr]
    batch_size = account.imap.batch_size if account.imap else 1000
    report = ScanReport(account=name)
    env_holder: list = []  # Jinja is loaded only when a task needs a draft
    for folder in folders:
        status = source.folder_status(folder)
        saved = store.folder_state(name, folder)
        if _unchanged(saved, status):
            report.folders_unchanged += 1
            continue
        after = saved.last_uid if saved and saved.uidvalidity == status.uidvalidity else 0
        if saved and saved.uidvalidity != status.uidvalidity:
            log.warning("%s: UIDVALIDITY changed (%d -> %d): reading the folder again", folder, saved.uidvalidity, status.uidvalidity)
        total = max(status.uidnext - 1 - after, 0)
        done = 0
        for batch in source.fetch_after(folder, after, batch_size):
            with store.transaction():
                _process_batch(store, env_holder, settings, name, account, batch, now, report)
                store.save_folder_state(name, folder, FolderState(status.uidvalidity, batch[-1].uid, status.highestmodseq))
            done += len(batch)
            if progress:
                progress(folder, done, total)
        with store.transaction():  # an empty or fully read folder: remember where it ends
            last = max(status.uidnext - 1, after) if status.uidnext else after
            current = store.folder_state(name, folder)
            last = max(last, current.last_uid if current and current.uidvalidity == status.uidvalidity else 0)
            store.save_folder_state(name, folder, FolderState(status.uidvalidity, last, status.highestmodseq))
    if settings.drafts.append_to_drafts:
        with store.transaction():
            report.drafts_appended = drafts.append_pending(store.conn, source, name)
    return report
