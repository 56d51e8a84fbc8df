"""Follow-up after the outreach: nudges, replies, going cold, reporting back.

The tracker (which reads the Sent folder and replies) calls these; each takes the time
of the event, never the clock:

  on_sent(conn, task_id, at, schedule)      a task's mail went out: done (sent); after an
                                            outreach or a nudge, the next nudge is opened,
                                            due `nudge_after_days` working days later
  on_contact_replied(conn, lead, contact, at, schedule)
                                            the contact answered: their open outreach and
                                            nudges are done (by_reply); "report back to
                                            <referrer>" opens
  tick(conn, now, schedule)                 time passed: snoozed tasks whose time came open
                                            again; a contact still silent `nudge_after_days`
                                            working days after the last of `max_nudges`
                                            nudges goes cold, and the referrer gets a
                                            report-back anyway
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from . import tasks
from .config import ScheduleSettings
from .mail import Person
from .rules import TaskSpec
from .schedule import add_working_days, add_working_hours

OUTREACH = ("reach_out", "nudge")


def _contact(conn: sqlite3.Connection, contact_id: int | None) -> Person | None:
    if contact_id is None:
        return None
    row = conn.execute(f"SELECT c.name, {tasks.contact_email_sql('c')} FROM contacts c WHERE c.id=?",
                       (contact_id,)).fetchone()
    return Person(row[0], row[1]) if row else None


def _label(person: Person | None) -> str:
    return (person.name or person.email or "them") if person else "them"


def _lead_state(conn: sqlite3.Connection, lead: int, contact: int | None, state: str, at: datetime, note: str = "") -> None:
    if contact is None:
        conn.execute("UPDATE leads SET state=? WHERE id=?", (state, lead))
    else:
        conn.execute("INSERT OR IGNORE INTO lead_contacts (lead_id, contact_id) VALUES (?, ?)", (lead, contact))
        conn.execute("UPDATE lead_contacts SET state=? WHERE lead_id=? AND contact_id=?", (state, lead, contact))
    conn.execute("INSERT INTO lead_events (lead_id, contact_id, at, state, note) VALUES (?, ?, ?, ?, ?)",
                 (lead, contact, tasks.iso(at), state, note))


def _settle_lead(conn: sqlite3.Connection, lead: int, at: datetime) -> None:
    """A lead is replied once any contact replied, cold once every contact went cold."""
    states = {r[0] for r in conn.execute("SELECT state FROM lead_contacts WHERE lead_id=?", (lead,))}
    current = conn.execute("SELECT state FROM leads WHERE id=?", (lead,)).fetchone()[0]
    new = "replied" if "replied" in states else "cold" if states == {"cold"} else current
    if new != current:
        _lead_state(conn, lead, None, new, at)


def _report_back(conn: sqlite3.Connection, lead: int, about: int, at: datetime, due: datetime, cold: bool) -> int | None:
    row = conn.execute("SELECT account, message_id, referrer_id FROM leads WHERE id=?", (lead,)).fetchone()
    referrer = _contact(conn, row["referrer_id"])
    if referrer is None:
        return None  # nobody gave this lead: nobody to report back to
    contact = _contact(conn, about)
    how = "did not reply" if cold else "replied"
    spec = TaskSpec("report_back", referrer, f"Report back to {_label(referrer)}: {_label(contact)} {how}",
                    due, "followup:cold" if cold else "followup:replied", "report_back", 1, contact)
    key = tasks.task_key(row["account"], row["message_id"], "report_back", contact, "cold" if cold else "")
    return tasks.insert_task(conn, key, row["account"], lead, spec, row["message_id"], at)


def on_sent(conn: sqlite3.Connection, task_id: int, at: datetime, schedule: ScheduleSettings) -> int | None:
    """The mail of task `task_id` was sent at `at`: done (sent); the next nudge's id, if one opens."""
    row = conn.execute("SELECT account, lead_id, kind, contact_id, to_email, about_id, step, message_id FROM tasks WHERE id=?",
                       (task_id,)).fetchone()
    if row is None:
        tasks.get_task(conn, task_id)  # raises NotFoundError
    first = tasks.mark_done(conn, task_id, "sent", at)
    if row["contact_id"] is not None:
        tasks.touch_contact(conn, row["contact_id"], at)
    if not first or row["kind"] not in OUTREACH:
        return None
    about = row["about_id"] or row["contact_id"]
    lead = row["lead_id"]
    state = conn.execute("SELECT state FROM lead_contacts WHERE lead_id=? AND contact_id=?", (lead, about)).fetchone()
    if state and state[0] in ("replied", "cold"):
        return None
    nudged = row["step"] if row["kind"] == "nudge" else 0
    _lead_state(conn, lead, about, "contacted", at, f"{row['kind']} sent")
    conn.execute("UPDATE lead_contacts SET nudges=?, last_sent_at=? WHERE lead_id=? AND contact_id=?",
                 (nudged, tasks.iso(at), lead, about))
    step = nudged + 1
    if step > schedule.max_nudges:
        return None  # the last nudge went out: `tick` decides when the contact is cold
    contact = _contact(conn, about)
    if contact is not None and about == row["contact_id"] and row["to_email"]:
        contact = Person(contact.name, row["to_email"])  # nudge where the outreach went
    spec = TaskSpec("nudge", contact, f"Nudge {_label(contact)} ({step}/{schedule.max_nudges}): no reply yet",
                    add_working_days(at, schedule.nudge_after_days, schedule), "followup:nudge", "nudge", 1, contact)
    key = tasks.task_key(row["account"], row["message_id"], "nudge", contact, str(step))
    return tasks.insert_task(conn, key, row["account"], lead, spec, row["message_id"], at, step=step)


def on_contact_replied(conn: sqlite3.Connection, lead: int, contact: int | Person, at: datetime,
                       schedule: ScheduleSettings) -> list[int]:
    """`contact` answered the outreach of `lead` at `at`; the ids of the tasks opened (the report-back)."""
    about = contact if isinstance(contact, int) else tasks.contact_id(conn, contact, at)
    state = conn.execute("SELECT state FROM lead_contacts WHERE lead_id=? AND contact_id=?", (lead, about)).fetchone()
    if state and state[0] == "replied":
        return []  # the second reply in a thread changes nothing
    for (task_id,) in conn.execute("SELECT id FROM tasks WHERE lead_id=? AND kind IN ('reach_out', 'nudge')"
                                   " AND COALESCE(about_id, contact_id)=? AND status IN ('open', 'snoozed', 'cold')",
                                   (lead, about)).fetchall():
        tasks.mark_done(conn, task_id, "by_reply", at)
    _lead_state(conn, lead, about, "replied", at)
    conn.execute("UPDATE lead_contacts SET replied_at=? WHERE lead_id=? AND contact_id=?", (tasks.iso(at), lead, about))
    _settle_lead(conn, lead, at)
    opened = _report_back(conn, lead, about, at, add_working_hours(at, schedule.thank_within_hours, schedule), cold=False)
    return [opened] if opened else []


def tick(conn: sqlite3.Connection, now: datetime, schedule: ScheduleSettings) -> list[int]:
    """Bring the tasks up to `now`: wake snoozed tasks, let silent contacts go cold; ids opened or reopened."""
    changed = tasks.wake(conn, now)
    waiting = conn.execute("SELECT lead_id, contact_id, last_sent_at FROM lead_contacts WHERE state='contacted'"
                           " AND nudges >= ? AND last_sent_at IS NOT NULL", (schedule.max_nudges,)).fetchall()
    for lead, about, sent in waiting:
        cold_at = add_working_days(datetime.fromisoformat(sent), schedule.nudge_after_days, schedule)
        if cold_at > now:
            continue
        _lead_state(conn, lead, about, "cold", cold_at, f"no reply to {schedule.max_nudges} nudge(s)")
        for (task_id,) in conn.execute("SELECT id FROM tasks WHERE lead_id=? AND kind IN ('reach_out', 'nudge')"
                                       " AND COALESCE(about_id, contact_id)=? AND status IN ('open', 'snoozed')",
                                       (lead, about)).fetchall():
            tasks.mark_cold(conn, task_id, now)
        _settle_lead(conn, lead, cold_at)
        opened = _report_back(conn, lead, about, now, cold_at, cold=True)
        if opened:
            changed.append(opened)
    return changed
