"""Track: mail that answers a lead moves its tasks on by itself.

A message in a lead's thread (it replies to the lead's message or to one of our
drafts) from one of the lead's contacts is that contact answering: their outreach and
nudges are done ("by reply") and the report-back to the referrer opens.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from . import followup, tasks
from .config import ScheduleSettings
from .mail import Mail


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
