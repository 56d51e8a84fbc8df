"""Rescan: apply the rules again to messages already seen, opening only what is missing.

After the rules change, `assistant rescan --since DATE` reads each configured folder
again (headers first; text only for messages already seen and dated on or after DATE),
detects, plans with the rules now in effect, and opens the tasks whose key is new.
A task once opened is never opened again, whatever it became since (done, dismissed):
the key (message, kind, person) is the memory.  Drafts of the new tasks are made as the
scan makes them.  The scan's folder bookkeeping is not touched: unseen mail is the
scan's to read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from . import drafts, rules, tasks
from .config import Settings
from .detect import detect
from .mail import RawMail
from .parse import ParseError, parse, parse_header
from .scan import Drafter, follow_up
from .source import MailSource
from .store import Store

log = logging.getLogger(__name__)


@dataclass
class RescanReport:
    account: str
    since: str
    messages: int = 0  # seen messages read again
    tasks_opened: int = 0
    drafts_appended: int = 0
    opened: list[dict] = field(default_factory=list)  # one entry a new task

    def as_dict(self) -> dict:
        return {"account": self.account, "since": self.since, "messages": self.messages,
                "tasks_opened": self.tasks_opened, "drafts_appended": self.drafts_appended, "opened": self.opened}


class _Select:
    """Which messages of a batch to read again: seen before, dated on or after `since`."""

    def __init__(self, store: Store, account: str, since: datetime):
        self.store, self.account, self.since = store, account, since

    def __call__(self, batch: list[RawMail]) -> set[int]:
        headers = {}
        for raw in batch:
            try:
                headers[raw.uid] = parse_header(raw)
            except ParseError:
                continue
        known = self.store.known_message_ids(self.account, (m.message_id for m in headers.values()))
        return {uid for uid, m in headers.items()
                if m.message_id in known and m.date is not None and m.date.tzinfo and m.date >= self.since}


def rescan_account(store: Store, source: MailSource, settings: Settings, name: str, since: datetime, now: datetime,
                   ruleset: rules.RuleSet) -> RescanReport:
    account = settings.accounts[name]
    report = RescanReport(account=name, since=since.isoformat())
    select = _Select(store, name, since)
    done: set[str] = set()  # a message in two folders is planned once
    drafter = Drafter(store, settings, name)
    for folder in account.folders:
        for batch in source.fetch_after(folder, 0, account.batch_size, select):
            with store.transaction():
                new_ids: list[int] = []
                for raw in batch:
                    if not raw.parts:
                        continue  # not selected: no text was read
                    try:
                        mail = parse(raw)
                    except (ParseError, ValueError, LookupError):
                        continue
                    if mail.message_id in done or mail.date is None or mail.date < since:
                        continue
                    done.add(mail.message_id)
                    report.messages += 1
                    detection = detect(mail, account.addresses)
                    if detection.kind == "none":
                        continue  # as in the scan: only what detection found is followed up
                    new_ids.extend(follow_up(store, settings, name, mail, detection, ruleset, now))
                drafter.prepare(new_ids)
                if new_ids:
                    report.opened.extend(t.as_dict() for t in tasks.get_tasks(store.conn, new_ids, statuses=()))
                report.tasks_opened += len(new_ids)
    if settings.drafts.append_to_drafts and report.tasks_opened:
        with store.transaction():
            report.drafts_appended = drafts.append_pending(store.conn, source, name)
    return report
