"""Track: mail that answers a lead, and mail the user sent, move its tasks on by themselves.

A message in a lead's thread (it replies to the lead's message or to one of our
drafts) from one of the lead's contacts is that contact answering: their outreach and
nudges are done ("by reply") and the report-back to the referrer opens.

A message in the Sent folder that is one of our drafts (by Message-ID), or that the
user wrote to the person an open task writes to after the lead's mail arrived, is that
task done ("sent"), and an outreach schedules its nudge, as `assistant send` does.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

from . import followup, tasks
from .config import ScheduleSettings
from .mail import Mail
from .store import IN_LIST


def lead_threads(conn: sqlite3.Connection, account: str, mails: list[Mail]) -> set[str]:
    """Of the messages these mails answer (In-Reply-To, References), those that are a lead's
    message or one of our drafts: a mail that answers none of them is no contact's reply, and
    `contact_reply` need not look (a first scan reads thousands of replies, in other threads)."""
    ids = json.dumps(sorted({i for mail in mails for i in (mail.in_reply_to, *mail.references) if i}))
    return {row[0] for query in THREAD_QUERIES for row in conn.execute(query, (account, ids))}


# Each by its index on Message-IDs: a lead's is (account, message_id); a draft's is unique on
# its own, so the account is only checked ("+": not an index to search by, which the planner
# would otherwise pick, reading every draft of the account).
THREAD_QUERIES = (f"SELECT message_id FROM leads WHERE account=? AND message_id {IN_LIST}",
                  f"SELECT message_id FROM drafts WHERE +account=? AND message_id {IN_LIST}")


def contact_reply(conn: sqlite3.Connection, account: str, mail: Mail, now: datetime,
                  schedule: ScheduleSettings) -> list[int]:
    """The ids of the tasks a contact's reply opens (none when `mail` is not one)."""
    if mail.sender is None or not (mail.in_reply_to or mail.references):
        return []
    lead = tasks.thread_lead(conn, account, mail)
    if lead is None:
        return []
    row = conn.execute(
        "SELECT lc.contact_id FROM lead_contacts lc JOIN contact_addresses a ON a.contact_id = lc.contact_id"
        " WHERE lc.lead_id=? AND a.email=?", (lead, mail.sender.email)).fetchone()
    if row is None:
        return []
    at = min(mail.date, now) if mail.date and mail.date.tzinfo else now
    return followup.on_contact_replied(conn, lead, row[0], at, schedule)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


WRITING_TASKS = ("reach_out", "nudge", "thank", "report_back", "do_request", "act_on_lead")


def mail_sent(conn: sqlite3.Connection, account: str, mail: Mail, schedule: ScheduleSettings) -> list[int]:
    """The ids of the tasks (nudges) that a message the user sent opens."""
    at = mail.date if mail.date and mail.date.tzinfo else None
    ours = conn.execute("SELECT d.task_id FROM drafts d JOIN tasks t ON t.id = d.task_id WHERE d.account=?"
                        " AND d.message_id=? AND t.status IN ('open', 'snoozed')", (account, mail.message_id)).fetchall()
    done = [row[0] for row in ours]
    recipients = sorted({p.email for p in (*mail.to, *mail.cc) if p.email})
    if not done and recipients and at is not None:
        marks = ",".join("?" * len(recipients))
        kinds = ",".join("?" * len(WRITING_TASKS))
        # Written to the person after the lead's mail arrived: the user did the task by hand.
        done = [task_id for task_id, since in conn.execute(
            f"SELECT t.id, COALESCE(m.date, t.created_at) FROM tasks t LEFT JOIN messages m"
            f" ON m.account = t.account AND m.message_id = t.message_id"
            f" WHERE t.account=? AND t.status IN ('open', 'snoozed') AND t.kind IN ({kinds}) AND t.to_email IN ({marks})",
            (account, *WRITING_TASKS, *recipients)) if _aware(datetime.fromisoformat(since)) <= at]
    opened = []
    for task_id in done:
        nudge = followup.on_sent(conn, task_id, at or datetime.now().astimezone(), schedule)
        if nudge:
            opened.append(nudge)
    return opened
