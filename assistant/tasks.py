"""Tasks: leads, the people in them, and the follow-up tasks rules open, in the store.

A task's key is the message, the task kind and the person, so the same message never
opens the same task twice, whatever the rules say on a later run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

from .mail import Detection, Mail, Person
from .rules import TaskSpec
from .store import utcnow_iso


def task_key(account: str, message_id: str, kind: str, person: Person | None) -> str:
    who = (person.email or person.name.lower()) if person else "-"
    return f"{account}|{message_id}|{kind}|{who}"


def contact_id(conn: sqlite3.Connection, person: Person) -> int:
    """The contact for this person: found by address, else created (one row a person)."""
    if person.email:
        row = conn.execute("SELECT contact_id FROM contact_addresses WHERE email=?", (person.email,)).fetchone()
        if row:
            if person.name:
                conn.execute("UPDATE contacts SET name=? WHERE id=? AND name=''", (person.name, row[0]))
            return row[0]
    else:
        row = conn.execute(
            "SELECT c.id FROM contacts c WHERE c.name=? AND NOT EXISTS"
            " (SELECT 1 FROM contact_addresses a WHERE a.contact_id=c.id)",
            (person.name,),
        ).fetchone()
        if row:
            return row[0]
    new_id = conn.execute("INSERT INTO contacts (name, created_at) VALUES (?, ?)", (person.name, utcnow_iso())).lastrowid
    if person.email:
        conn.execute("INSERT INTO contact_addresses (email, contact_id) VALUES (?, ?)", (person.email, new_id))
    return new_id


def lead_id(conn: sqlite3.Connection, account: str, mail: Mail, detection: Detection) -> int:
    row = conn.execute("SELECT id FROM leads WHERE account=? AND message_id=?", (account, mail.message_id)).fetchone()
    if row:
        return row[0]
    referrer = contact_id(conn, detection.referrer) if detection.referrer else None
    new_id = conn.execute(
        "INSERT INTO leads (account, message_id, kind, referrer_id, company, role, subject, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (account, mail.message_id, detection.kind, referrer, detection.company, detection.role, mail.subject, utcnow_iso()),
    ).lastrowid
    for contact in detection.contacts:
        conn.execute("INSERT OR IGNORE INTO lead_contacts VALUES (?, ?)", (new_id, contact_id(conn, contact)))
    return new_id


def open_tasks(conn: sqlite3.Connection, account: str, mail: Mail, detection: Detection, specs: list[TaskSpec]) -> list[int]:
    """Open the tasks `specs` asks for that this message has not opened before; their ids."""
    if not specs:
        return []
    lead = lead_id(conn, account, mail, detection)
    opened = []
    now = utcnow_iso()
    for spec in specs:
        key = task_key(account, mail.message_id, spec.kind, spec.person)
        person = contact_id(conn, spec.person) if spec.person else None
        cursor = conn.execute(
            "INSERT OR IGNORE INTO tasks (key, account, lead_id, kind, contact_id, title, due, priority, rule,"
            " template, message_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (key, account, lead, spec.kind, person, spec.title, spec.due.astimezone(timezone.utc).isoformat(timespec="minutes"),
             spec.priority, spec.rule, spec.template, mail.message_id, now, now),
        )
        if cursor.rowcount:
            conn.execute("INSERT INTO task_events (task_id, at, status, note) VALUES (?, ?, 'open', ?)",
                         (cursor.lastrowid, now, f"opened by {spec.rule}"))
            opened.append(cursor.lastrowid)
    return opened


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task with its lead and people, as the CLI and the drafts read it."""

    id: int
    account: str
    kind: str
    title: str
    status: str
    due: datetime
    priority: int
    template: str | None
    message_id: str
    contact: Person | None
    referrer: Person | None
    lead_kind: str
    company: str | None
    role: str | None
    subject: str

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "account": self.account,
            "kind": self.kind,
            "title": self.title,
            "status": self.status,
            "due": self.due.isoformat(),
            "priority": self.priority,
            "contact": self.contact.as_dict() if self.contact else None,
            "referrer": self.referrer.as_dict() if self.referrer else None,
            "lead_kind": self.lead_kind,
            "company": self.company,
            "role": self.role,
            "message_id": self.message_id,
        }


_VIEW = """
SELECT t.id, t.account, t.kind, t.title, t.status, t.due, t.priority, t.template, t.message_id,
       c.name AS c_name, (SELECT email FROM contact_addresses WHERE contact_id=c.id ORDER BY rowid LIMIT 1) AS c_email,
       r.name AS r_name, (SELECT email FROM contact_addresses WHERE contact_id=r.id ORDER BY rowid LIMIT 1) AS r_email,
       l.kind AS lead_kind, l.company, l.role, l.subject
FROM tasks t JOIN leads l ON l.id = t.lead_id
LEFT JOIN contacts c ON c.id = t.contact_id
LEFT JOIN contacts r ON r.id = l.referrer_id
"""


def _view(row: sqlite3.Row) -> TaskView:
    return TaskView(
        id=row["id"], account=row["account"], kind=row["kind"], title=row["title"], status=row["status"],
        due=datetime.fromisoformat(row["due"]), priority=row["priority"], template=row["template"],
        message_id=row["message_id"],
        contact=Person(row["c_name"], row["c_email"]) if row["c_name"] is not None else None,
        referrer=Person(row["r_name"], row["r_email"]) if row["r_name"] is not None else None,
        lead_kind=row["lead_kind"], company=row["company"], role=row["role"], subject=row["subject"] or "",
    )


def get_tasks(conn: sqlite3.Connection, ids: list[int] | None = None, statuses: tuple[str, ...] = ("open",)) -> list[TaskView]:
    where, args = [], []
    if ids is not None:
        where.append(f"t.id IN ({','.join('?' * len(ids))})")
        args.extend(ids)
    if statuses:
        where.append(f"t.status IN ({','.join('?' * len(statuses))})")
        args.extend(statuses)
    sql = _VIEW + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.due, t.priority DESC, t.id"
    return [_view(r) for r in conn.execute(sql, args)]
