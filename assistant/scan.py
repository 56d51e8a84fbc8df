"""Scan: the pipeline run cron starts.  Source -> parse -> detect -> rules -> store -> drafts.

Per folder, only UIDs above the last one done are fetched (a UIDVALIDITY change reads
the folder again; the message table keeps that from repeating work).  Each batch is
one SQLite transaction that records the messages, opens their tasks, renders their
drafts and advances the folder's last UID together, so a crash anywhere repeats at
most an unfinished batch and never skips one.  Drafts are appended after the commit;
one left pending by a crash is appended (or found already there) by the next run.

Between the two fetch phases the headers are screened (`_Screen`), so text is fetched
only for mail a person may have written.  On a large first scan, worker processes
detect batches while this process fetches the next and commits the previous, always
in UID order: detection is most of a scan's CPU.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple

from . import drafts, followup, rules, send, tasks, track
from .config import Settings, state_dir
from .mail import Detection, Mail, RawMail, RawPart
from .parse import ParseError, add_text, parse_header
from .quotes import reply_text
from .source import FolderStatus, MailSource, open_source
from .errors import MailboxError
from .store import FolderState, Store, run_lock

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
    drafts_folder: str = ""  # where they went
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
            "drafts_folder": self.drafts_folder,
            "folders_unchanged": self.folders_unchanged,
            "found": self.found,
        }


Progress = Callable[[str, int, int], None]  # folder, done, total
DETECT_WORKERS = 2  # two processes detect while this one fetches and commits (measured best on 2 cores)


def _unchanged(saved: FolderState | None, status: FolderStatus) -> bool:
    return saved is not None and saved.uidvalidity == status.uidvalidity and status.uidnext - 1 <= saved.last_uid


@dataclass
class _Read:
    """One batch as read: every message's header (or why it cannot be read), the messages
    already processed, and what the headers alone decided; the rest await detection."""

    raws: list[RawMail]
    headers: dict[int, Mail | ParseError] = field(default_factory=dict)
    duplicates: set[int] = field(default_factory=set)
    verdicts: dict[int, Detection] = field(default_factory=dict)

    def outcome(self, header: Mail, detected: Detected | None) -> tuple[Mail, Detection, str | None]:
        """A message of the batch as it is recorded: its mail, what it is, an excerpt of a find."""
        if detected is None:
            return header, self.verdicts[header.uid], None
        if detected.mail is not None:
            return detected.mail, detected.detection, detected.excerpt
        mail = replace(header, defects=header.defects + detected.defects) if detected.defects else header
        return mail, detected.detection, None

    def to_detect(self) -> list[tuple[int, Mail, tuple[RawPart, ...]]]:
        return [(raw.uid, header, raw.parts) for raw in self.raws
                if isinstance(header := self.headers[raw.uid], Mail)
                and raw.uid not in self.duplicates and raw.uid not in self.verdicts]


class _Screen:
    """Phase one of a batch: headers parsed, known and automated mail set aside, so
    that the source fetches text only for mail a person may have written to the user."""

    def __init__(self, store: Store, account_name: str, me: frozenset[str]):
        self.store, self.account_name, self.me = store, account_name, me
        self.claimed: set[str] = set()  # Message-IDs this scan has taken on (a message in two folders)
        self.current = _Read([])

    def __call__(self, batch: list[RawMail]) -> set[int]:
        from .detect import detect_from_headers  # loaded once there is mail: a no-change scan stays quick

        read = self.current  # the batch being read; `take` hands it over
        for raw in batch:
            try:
                read.headers[raw.uid] = parse_header(raw)
            except ParseError as exc:
                read.headers[raw.uid] = exc
        mails = [m for m in read.headers.values() if isinstance(m, Mail)]
        done = self.store.known_message_ids(self.account_name, (m.message_id for m in mails))
        wanted = set()
        for mail in mails:
            if mail.message_id in done or mail.message_id in self.claimed:
                read.duplicates.add(mail.uid)
                continue
            self.claimed.add(mail.message_id)
            verdict = detect_from_headers(mail, self.me)
            if verdict is None:
                wanted.add(mail.uid)
            else:
                read.verdicts[mail.uid] = verdict
        return wanted

    def take(self, batch: list[RawMail]) -> _Read:
        """The batch with what phase one found (screened now where a source did not ask)."""
        unscreened = [replace(raw, parts=()) for raw in batch if raw.uid not in self.current.headers]
        if unscreened:
            self(unscreened)
        read, self.current = self.current, _Read([])
        read.raws = batch
        return read


class Detected(NamedTuple):
    """What detection made of a message's text.  A find comes back whole, with the excerpt
    drafts quote; of the rest only the verdict, and what decoding the text found wrong:
    the scanning process has their headers, and a first scan would otherwise send all
    that mail back to it."""

    detection: Detection
    mail: Mail | None = None  # with its text: a find only
    excerpt: str | None = None  # of a find's new text
    defects: tuple[str, ...] = ()  # of a message that came to nothing (a find's mail has them)


def detect_texts(items: list[tuple[int, Mail, tuple[RawPart, ...]]], me: frozenset[str]) -> dict[int, Detected]:
    """Add the text to each header and detect: the CPU-heavy part of a scan (a worker's job)."""
    from .detect import detect

    out = {}
    for uid, header, parts in items:
        mail = add_text(header, parts)
        found = detect(mail, me)
        if found.kind == "none":
            out[uid] = Detected(found, defects=mail.defects[len(header.defects) :])
        else:
            out[uid] = Detected(found, mail, reply_text(mail.text)[:500])
    return out


class _Inline:
    """An executor that runs the job at once: small scans don't pay for a worker process."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self) -> None:
        pass


def _executor(batches: int):
    """Where detection runs, and how many batches may wait for it.  On a first scan of a
    large folder, worker processes detect while this one fetches and commits: detection
    is most of a scan's CPU, and a small machine's two cores then both work."""
    if batches < 2:
        return _Inline(), 0
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .detect import read_phrases

    try:
        executor = ProcessPoolExecutor(max_workers=DETECT_WORKERS, mp_context=multiprocessing.get_context("fork"),
                                       initializer=read_phrases)
        # Start the workers now: they read detection's phrases while this process fetches
        # the first batch, instead of after it.
        executor.submit(int)
    except (OSError, ValueError) as exc:  # no fork here: detect in this process
        log.info("detecting in-process: %s", exc)
        return _Inline(), 0
    return executor, DETECT_WORKERS


def _detect_batch(executor, items: list, me: frozenset[str]) -> list[Future]:
    """A batch's detection, in as many pieces as there are workers: the last batch of a scan
    is then done by all of them, not by one while the others wait."""
    pieces = 1 if isinstance(executor, _Inline) else DETECT_WORKERS
    size = max(-(-len(items) // pieces), 1)
    return [executor.submit(detect_texts, items[start : start + size], me) for start in range(0, len(items), size)]


class Drafter:
    """Renders drafts for newly opened tasks; Jinja is loaded only once a task needs it."""

    def __init__(self, store: Store, settings: Settings, name: str):
        self.store, self.settings, self.name = store, settings, name
        self.env = None

    def prepare(self, task_ids: list[int]) -> None:
        if not task_ids:
            return
        if self.env is None:
            self.env = drafts.environment(self.settings.drafts)
        drafts.prepare(self.store.conn, self.env, task_ids, self.name, self.settings.accounts[self.name])


def follow_up(store: Store, settings: Settings, name: str, mail: Mail, detection: Detection,
              ruleset: rules.RuleSet, now: datetime) -> list[int]:
    """Open the tasks the rules want for a detected message; the ids of those not opened before."""
    specs = rules.plan(mail, detection, ruleset, settings.schedule, now, settings.accounts[name].addresses)
    return tasks.open_tasks(store.conn, name, mail, detection, specs, now)


def _commit_batch(store: Store, read: _Read, detected: dict[int, Detected], drafter: Drafter,
                  settings: Settings, name: str, now: datetime, report: ScanReport) -> None:
    """Record a batch's messages and open their tasks (inside the batch's transaction)."""
    new_task_ids: list[int] = []
    processed: list[tuple[Mail, Detection, str | None]] = []
    ruleset = rules.active(settings)
    threads = track.lead_threads(store.conn, name, [m for m in read.headers.values() if isinstance(m, Mail)])
    for raw in read.raws:
        header = read.headers[raw.uid]
        if isinstance(header, ParseError):
            log.warning("skipped %s UID %d: cannot parse: %s", raw.folder, raw.uid, header)
            store.record_skipped(name, raw.folder, raw.uid, f"unparseable:{raw.folder}:{raw.uid}", f"cannot parse: {header}")
            report.skipped += 1
            continue
        if raw.uid in read.duplicates:
            report.duplicates += 1
            continue
        report.messages += 1
        if not threads.isdisjoint((header.in_reply_to, *header.references)):
            new_task_ids.extend(track.contact_reply(store.conn, name, header, now, settings.schedule))
        mail, detection, excerpt = read.outcome(header, detected.get(raw.uid))
        for defect in mail.defects:
            log.info("%s UID %d: %s", mail.folder, mail.uid, defect)
        processed.append((mail, detection, excerpt))
        report.detected[detection.kind] = report.detected.get(detection.kind, 0) + 1
        if detection.kind == "none":
            continue
        opened = follow_up(store, settings, name, mail, detection, ruleset, now)
        new_task_ids.extend(opened)
        threads.add(mail.message_id)  # its lead's thread: a reply later in this batch is answering it
        report.found.append({"folder": mail.folder, "uid": mail.uid, "subject": mail.subject,
                             **detection.as_dict(), "tasks": len(opened)})
    store.record_messages(name, processed)  # before the drafts: they quote the messages they answer
    report.tasks_opened += len(new_task_ids)
    drafter.prepare(new_task_ids)


def _scan_folder(store: Store, source: MailSource, settings: Settings, name: str, folder: str, screen: _Screen,
                 drafter: Drafter, now: datetime, report: ScanReport, progress: Progress | None) -> None:
    """Read a folder's new mail in batches: fetch, detect (in workers on a large first scan),
    then commit each batch in UID order with the folder's last UID."""
    window = _new_mail(store, source, name, folder)
    if window is None:
        report.folders_unchanged += 1
        return
    status, after = window
    batch_size = settings.accounts[name].batch_size
    total = max(status.uidnext - 1 - after, 0)
    done = 0
    pending: deque[tuple[_Read, list[Future]]] = deque()  # read and being detected, not yet committed

    def commit(read: _Read, detecting: list[Future]) -> None:
        nonlocal done
        detected = {uid: found for piece in detecting for uid, found in piece.result().items()}
        with store.transaction():  # messages, tasks, drafts and the folder's last UID together
            _commit_batch(store, read, detected, drafter, settings, name, now, report)
            store.save_folder_state(name, folder, FolderState(status.uidvalidity, read.raws[-1].uid, status.highestmodseq))
        done += len(read.raws)
        if progress:
            progress(folder, done, total)

    executor, depth = _executor(-(-total // batch_size))
    try:
        for batch in source.fetch_after(folder, after, batch_size, screen):
            if not batch:  # every UID of it expunged between SEARCH and FETCH
                continue
            read = screen.take(batch)
            pending.append((read, _detect_batch(executor, read.to_detect(), screen.me)))
            if len(pending) > depth:
                commit(*pending.popleft())  # in UID order, while later batches are detected
        while pending:
            commit(*pending.popleft())
    finally:
        executor.shutdown()
    _remember_end(store, name, folder, status, after)


def _new_mail(store: Store, source: MailSource, name: str, folder: str) -> tuple[FolderStatus, int] | None:
    """The folder's status and the last UID already done; None when nothing arrived."""
    status = source.folder_status(folder)
    saved = store.folder_state(name, folder)
    if _unchanged(saved, status):
        return None
    if saved and saved.uidvalidity != status.uidvalidity:
        log.warning("%s: UIDVALIDITY changed (%d -> %d): reading the folder again", folder, saved.uidvalidity, status.uidvalidity)
        return status, 0
    return status, saved.last_uid if saved else 0


def _remember_end(store: Store, name: str, folder: str, status: FolderStatus, after: int) -> None:
    """An empty or fully read folder: remember where it ends."""
    with store.transaction():
        last = max(status.uidnext - 1, after) if status.uidnext else after
        current = store.folder_state(name, folder)
        last = max(last, current.last_uid if current and current.uidvalidity == status.uidvalidity else 0)
        store.save_folder_state(name, folder, FolderState(status.uidvalidity, last, status.highestmodseq))


def _track_sent(store: Store, source: MailSource, settings: Settings, name: str, drafter: Drafter) -> None:
    """Mail the user sent closes the tasks it did (read by headers alone, never its text)."""
    try:
        folder = source.sent_folder()
        window = _new_mail(store, source, name, folder)
    except MailboxError as exc:
        log.info("%s: sent mail not tracked: %s", name, exc)
        return
    if window is None:
        return
    status, after = window
    for batch in source.fetch_after(folder, after, settings.accounts[name].batch_size, lambda raws: set()):
        if not batch:
            continue
        with store.transaction():
            opened: list[int] = []
            for raw in batch:
                try:
                    opened += track.mail_sent(store.conn, name, parse_header(raw), settings.schedule)
                except ParseError:
                    continue
            drafter.prepare(opened)
            store.save_folder_state(name, folder, FolderState(status.uidvalidity, batch[-1].uid, status.highestmodseq))
    _remember_end(store, name, folder, status, after)


def scan_account(store: Store, source: MailSource, settings: Settings, name: str, now: datetime,
                 progress: Progress | None = None) -> ScanReport:
    report = ScanReport(account=name)
    drafter = Drafter(store, settings, name)
    screen = _Screen(store, name, settings.accounts[name].addresses)
    for folder in settings.accounts[name].folders:
        _scan_folder(store, source, settings, name, folder, screen, drafter, now, report, progress)
    _track_sent(store, source, settings, name, drafter)
    with store.transaction():  # time passed: snoozed tasks wake, contacts who never answered go cold
        followup.tick(store.conn, now, settings.schedule)
        # Tasks opened since their lead's mail was read (a nudge after a send, a report-back
        # when a contact went cold) get their drafts here, as do earlier failed renders.
        drafter.prepare(drafts.undrafted_tasks(store.conn, name))
    if settings.drafts.append_to_drafts:
        with store.transaction():
            report.drafts_appended = drafts.append_pending(store.conn, source, name)
        if report.drafts_appended:
            report.drafts_folder = source.drafts_folder()
    # Sends interrupted after the server took them are finished (Sent copy, draft removed);
    # then drafts that a rule marked auto_send go out once due.  Never inside a transaction:
    # each send records "sending" on disk before it talks to the server.
    send.finish_submitted(store.conn, source, settings, name, now)
    send.auto_send_due(store.conn, source, settings, name, now)
    return report


def scan_accounts(settings: Settings, names: list[str], progress: Progress | None = None) -> list[ScanReport]:
    """Scan each account under the state lock: what `assistant scan` and the daemon run."""
    reports = []
    with run_lock(state_dir(settings)):
        store = Store.open(state_dir(settings))
        try:
            for name in names:
                source = open_source(name, settings.accounts[name])
                try:
                    reports.append(scan_account(store, source, settings, name, datetime.now().astimezone(), progress))
                finally:
                    source.close()
        finally:
            store.close()
    return reports
