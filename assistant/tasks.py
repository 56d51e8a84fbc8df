"""Tasks: leads, the people in them, the follow-up tasks rules open, and their lifecycle.

A task's key is the message, the task kind (with the nudge number) and the person it
writes to (for a report-back: the contact it reports on), so the same message never
opens the same task twice, whatever the rules say on a later run or a rescan.

States: open -> snoozed (until a time) -> open again; done (how: sent, by_hand,
by_reply); dismissed (with a reason); cold (the contact never answered).  Every change
is a row in task_events.  The follow-up after an outreach (nudges, going cold, the
report-back) is in `followup`; this module is the store side of tasks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import AssistantError, NotFoundError
from .mail import Detection, Mail, Person
from .rules import TaskSpec

STATUSES = ("open", "snoozed", "done", "dismissed", "cold")
DONE_HOW = ("sent", "by_hand", "by_reply")


class TaskStateError(AssistantError):
    """The change asked for does not apply to the task in its current state."""


def iso(moment: datetime) -> str:
    """Times are stored in UTC, to the second: comparable as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def task_key(account: str, message_id: str, kind: str, person: Person | None, suffix: str = "") -> str:
    who = (person.email or person.name).lower() if person else "-"  # addresses are case-blind in practice
    return f"{account}|{message_id}|{kind}{'#' + suffix if suffix else ''}|{who}"


# Mail providers: two people with the same name there are not one person by that alone.
FREEMAIL = frozenset(("gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
                      "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "web.de", "fastmail.com"))
# Contacts known by this name (as their name, or one they have been called); both
# halves use an index on lower(name), so the lookup does not read every contact.
_NAMED = ("SELECT c.id FROM contacts c WHERE c.id IN (SELECT id FROM contacts WHERE lower(name)=lower(?)"
          " UNION SELECT contact_id FROM contact_names WHERE lower(name)=lower(?))")


def contact_id(conn: sqlite3.Connection, person: Person, now: datetime | None = None) -> int:
    """The contact for this person (one row a person, however many addresses and names).

    Found by address; else a new address joins a contact with the same full name that has
    no address yet, or one at the same domain (dana@ and dana.whitfield@acme.example);
    else a new contact.  A person without an address is found by name only among contacts
    without one: two people may share a name, an address is one person's."""
    at = iso(now or datetime.now(timezone.utc))
    email = person.email.lower() if person.email else None
    full_name = len(person.name.split()) >= 2
    found = None
    if email:
        row = conn.execute("SELECT contact_id FROM contact_addresses WHERE email=?", (email,)).fetchone()
        if row is None and full_name:
            domain = email.rpartition("@")[2]
            unaddressed = "NOT EXISTS (SELECT 1 FROM contact_addresses a WHERE a.contact_id=c.id)"
            same_domain = ("EXISTS (SELECT 1 FROM contact_addresses a WHERE a.contact_id=c.id"
                           " AND substr(a.email, instr(a.email, '@') + 1)=?)")
            if domain in FREEMAIL:
                row = conn.execute(f"{_NAMED} AND {unaddressed} ORDER BY c.id", (person.name, person.name)).fetchone()
            else:
                row = conn.execute(f"{_NAMED} AND ({unaddressed} OR {same_domain}) ORDER BY c.id",
                                   (person.name, person.name, domain)).fetchone()
            if row:
                conn.execute("INSERT INTO contact_addresses (email, contact_id) VALUES (?, ?)", (email, row[0]))
        found = row[0] if row else None
    elif person.name:
        row = conn.execute(_NAMED + " AND NOT EXISTS (SELECT 1 FROM contact_addresses a WHERE a.contact_id=c.id)"
                           " ORDER BY c.id", (person.name, person.name)).fetchone()
        found = row[0] if row else None
    if found is None:
        found = conn.execute("INSERT INTO contacts (name, created_at) VALUES (?, ?)", (person.name or "", at)).lastrowid
        if email:
            conn.execute("INSERT INTO contact_addresses (email, contact_id) VALUES (?, ?)", (email, found))
    elif person.name:
        conn.execute("UPDATE contacts SET name=? WHERE id=? AND name=''", (person.name, found))
    if person.name:
        conn.execute("INSERT OR IGNORE INTO contact_names (contact_id, name) VALUES (?, ?)", (found, person.name))
    return found


def thread_lead(conn: sqlite3.Connection, account: str, mail: Mail) -> int | None:
    """The lead whose thread this message answers: it replies to the lead's message or to one of our drafts."""
    ids = [i for i in (mail.in_reply_to, *mail.references) if i][-50:]
    if not ids:
        return None
    marks = ",".join("?" * len(ids))
    row = conn.execute(f"SELECT id FROM leads WHERE account=? AND message_id IN ({marks}) ORDER BY id DESC LIMIT 1",
                       (account, *ids)).fetchone()
    if row is None:
        row = conn.execute(f"SELECT t.lead_id FROM drafts d JOIN tasks t ON t.id = d.task_id WHERE d.account=?"
                           f" AND d.message_id IN ({marks}) ORDER BY t.lead_id DESC LIMIT 1", (account, *ids)).fetchone()
    return row[0] if row else None


def lead_id(conn: sqlite3.Connection, account: str, mail: Mail, detection: Detection, now: datetime | None = None) -> int:
    row = conn.execute("SELECT id FROM leads WHERE account=? AND message_id=?", (account, mail.message_id)).fetchone()
    if row:
        return row[0]
    if detection.kind == "request":
        # "Can you send your resume?" in the thread of an introduction is a step of that lead.
        parent = thread_lead(conn, account, mail)
        if parent is not None:
            return parent
    at = iso(now or datetime.now(timezone.utc))
    referrer = contact_id(conn, detection.referrer, now) if detection.referrer else None
    new_id = conn.execute(
        "INSERT INTO leads (account, message_id, kind, referrer_id, company, role, subject, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (account, mail.message_id, detection.kind, referrer, detection.company, detection.role, mail.subject, at),
    ).lastrowid
    conn.execute("INSERT INTO lead_events (lead_id, at, state, note) VALUES (?, ?, 'open', ?)", (new_id, at, detection.kind))
    for contact in detection.contacts:
        conn.execute("INSERT OR IGNORE INTO lead_contacts (lead_id, contact_id) VALUES (?, ?)",
                     (new_id, contact_id(conn, contact, now)))
    return new_id


def insert_task(conn: sqlite3.Connection, key: str, account: str, lead: int, spec: TaskSpec, message_id: str,
                now: datetime, step: int = 0) -> int | None:
    """One task, unless its key exists already; its id, or None."""
    at = iso(now)
    person = contact_id(conn, spec.person, now) if spec.person else None
    about = contact_id(conn, spec.about, now) if spec.about else None
    if about is None and person is not None and conn.execute(
            "SELECT 1 FROM lead_contacts WHERE lead_id=? AND contact_id=?", (lead, person)).fetchone():
        about = person  # a lead's contact asking something in its thread: the task is about them
    cursor = conn.execute(
        "INSERT OR IGNORE INTO tasks (key, account, lead_id, kind, contact_id, to_email, about_id, step, title, due,"
        " priority, rule, template, auto_send, message_id, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (key, account, lead, spec.kind, person, spec.person.email.lower() if spec.person and spec.person.email else None,
         about, step, spec.title, iso(spec.due), spec.priority, spec.rule, spec.template, int(spec.auto_send),
         message_id, at, at),
    )
    if not cursor.rowcount:
        return None
    conn.execute("INSERT INTO task_events (task_id, at, status, note) VALUES (?, ?, 'open', ?)",
                 (cursor.lastrowid, at, f"opened by {spec.rule}"))
    return cursor.lastrowid


def open_tasks(conn: sqlite3.Connection, account: str, mail: Mail, detection: Detection, specs: list[TaskSpec],
               now: datetime | None = None) -> list[int]:
    """Open the tasks `specs` asks for that this message has not opened before; their ids."""
    if not specs:
        return []
    now = now or datetime.now(timezone.utc)
    lead = lead_id(conn, account, mail, detection, now)
    opened = []
    for spec in specs:
        new = insert_task(conn, task_key(account, mail.message_id, spec.kind, spec.person), account, lead, spec,
                          mail.message_id, now)
        if new is not None:
            opened.append(new)
    return opened


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task with its lead and people, as the CLI and the drafts read it.

    `to` is whom the task writes to (the draft's recipient); `contact` the contact it is
    about (for a thank or report-back: the lead's contact, not the referrer it writes to)."""

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
    to: Person | None = None
    contacts: tuple[Person, ...] = ()  # every contact of the lead
    lead_id: int = 0
    rule: str = ""
    step: int = 0  # the nudge number
    snoozed_until: datetime | None = None
    done_how: str | None = None
    dismissed_reason: str | None = None
    auto_send: bool = False

    def as_dict(self) -> dict:
        person = lambda p: p.as_dict() if p else None  # noqa: E731
        return {
            "id": self.id, "account": self.account, "kind": self.kind, "title": self.title, "status": self.status,
            "due": self.due.isoformat(), "priority": self.priority,
            "contact": person(self.contact), "contacts": [c.as_dict() for c in self.contacts],
            "referrer": person(self.referrer), "to": person(self.to),
            "lead_id": self.lead_id, "lead_kind": self.lead_kind, "company": self.company, "role": self.role,
            "message_id": self.message_id, "template": self.template, "rule": self.rule, "step": self.step,
            "snoozed_until": self.snoozed_until.isoformat() if self.snoozed_until else None,
            "done_how": self.done_how, "dismissed_reason": self.dismissed_reason, "auto_send": self.auto_send,
        }


def contact_email_sql(alias: str) -> str:
    """SQL for the first address of the contact whose row is `alias` (the one a person was first seen with)."""
    return f"(SELECT email FROM contact_addresses WHERE contact_id={alias}.id ORDER BY rowid LIMIT 1)"


# The address the message gave for the person written to, while it is still one of theirs
# (an address corrected or removed in the store falls back to the contact's first one).
_given = "(SELECT email FROM contact_addresses WHERE email = t.to_email AND contact_id = t.contact_id)"

_VIEW = f"""
SELECT t.id, t.account, t.kind, t.title, t.status, t.due, t.priority, t.template, t.message_id, t.lead_id, t.rule,
       t.step, t.snoozed_until, t.done_how, t.dismissed_reason, t.auto_send,
       a.name AS a_name, CASE WHEN t.about_id = t.contact_id THEN COALESCE({_given}, {contact_email_sql('a')}) ELSE {contact_email_sql('a')} END
       AS a_email, w.name AS w_name, COALESCE({_given}, {contact_email_sql('w')}) AS w_email,
       r.name AS r_name, {contact_email_sql('r')} AS r_email,
       l.kind AS lead_kind, l.company, l.role, l.subject
FROM tasks t JOIN leads l ON l.id = t.lead_id
LEFT JOIN contacts a ON a.id = t.about_id
LEFT JOIN contacts w ON w.id = t.contact_id
LEFT JOIN contacts r ON r.id = l.referrer_id
"""


def _person(name: str | None, email: str | None) -> Person | None:
    return Person(name, email) if name is not None else None


def lead_contacts(conn: sqlite3.Connection, lead_ids) -> dict[int, tuple[Person, ...]]:
    ids = sorted(set(lead_ids))
    out: dict[int, list[Person]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for row in conn.execute(
            f"SELECT lc.lead_id, c.name, {contact_email_sql('c')} FROM lead_contacts lc JOIN contacts c ON c.id = lc.contact_id"
            f" WHERE lc.lead_id IN ({','.join('?' * len(chunk))}) ORDER BY lc.lead_id, c.id", chunk,
        ):
            out[row[0]].append(Person(row[1], row[2]))
    return {k: tuple(v) for k, v in out.items()}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def get_tasks(conn: sqlite3.Connection, ids: list[int] | None = None, statuses: tuple[str, ...] = ("open",),
              kinds: tuple[str, ...] = (), contact: str | None = None, lead_ids: list[int] | None = None) -> list[TaskView]:
    """Tasks, soonest due first; `contact` matches a name or address (of the contact or whom it writes to)."""
    where, args = [], []
    for column, values in (("t.id", ids), ("t.status", statuses), ("t.kind", kinds), ("t.lead_id", lead_ids)):
        if values is not None and (values or column in ("t.id", "t.lead_id")):
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if contact:
        where.append("EXISTS (SELECT 1 FROM contacts c LEFT JOIN contact_addresses e ON e.contact_id = c.id"
                     " WHERE c.id IN (t.about_id, t.contact_id) AND (c.name LIKE ? OR e.email LIKE ?))")
        args.extend([f"%{contact}%"] * 2)
    sql = _VIEW + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.due, t.priority DESC, t.id"
    rows = conn.execute(sql, args).fetchall()
    contacts = lead_contacts(conn, (r["lead_id"] for r in rows))
    return [
        TaskView(
            id=r["id"], account=r["account"], kind=r["kind"], title=r["title"], status=r["status"],
            due=datetime.fromisoformat(r["due"]), priority=r["priority"], template=r["template"],
            message_id=r["message_id"], contact=_person(r["a_name"], r["a_email"]),
            referrer=_person(r["r_name"], r["r_email"]), lead_kind=r["lead_kind"], company=r["company"],
            role=r["role"], subject=r["subject"] or "", to=_person(r["w_name"], r["w_email"]),
            contacts=contacts.get(r["lead_id"], ()), lead_id=r["lead_id"], rule=r["rule"], step=r["step"],
            snoozed_until=_when(r["snoozed_until"]), done_how=r["done_how"], dismissed_reason=r["dismissed_reason"],
            auto_send=bool(r["auto_send"]),
        )
        for r in rows
    ]


def get_task(conn: sqlite3.Connection, task_id: int) -> TaskView:
    found = get_tasks(conn, [task_id], statuses=())
    if not found:
        raise NotFoundError(f"no task {task_id} (see 'assistant tasks --all')")
    return found[0]


def history(conn: sqlite3.Connection, task_id: int) -> list[tuple[str, str, str]]:
    """(at, status, note) for every change of a task, oldest first."""
    return [tuple(r) for r in conn.execute("SELECT at, status, COALESCE(note, '') FROM task_events WHERE task_id=?"
                                           " ORDER BY at, id", (task_id,))]


# --- the lifecycle: every change is one UPDATE and one task_events row -----------------------------


def _change(conn: sqlite3.Connection, task_id: int, status: str, now: datetime, note: str, allowed: tuple[str, ...],
            **columns) -> bool:
    row = conn.execute("SELECT status FROM tasks WHERE id=?", (task_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no task {task_id} (see 'assistant tasks --all')")
    if row[0] not in allowed:
        raise TaskStateError(f"task {task_id} is {row[0]}: cannot make it {status}")
    sets = ", ".join(f"{k}=?" for k in ("status", "updated_at", *columns))
    conn.execute(f"UPDATE tasks SET {sets} WHERE id=?", (status, iso(now), *columns.values(), task_id))
    conn.execute("INSERT INTO task_events (task_id, at, status, note) VALUES (?, ?, ?, ?)", (task_id, iso(now), status, note))
    return True


def mark_done(conn: sqlite3.Connection, task_id: int, how: str, now: datetime, note: str = "") -> bool:
    """Done: `how` is sent (the draft went out), by_hand, or by_reply.  False if it was done already."""
    if how not in DONE_HOW:
        raise ValueError(f"how must be one of {', '.join(DONE_HOW)}, not {how!r}")
    row = conn.execute("SELECT status FROM tasks WHERE id=?", (task_id,)).fetchone()
    if row is not None and row[0] == "done":
        return False  # the tracker may see the same Sent message twice
    return _change(conn, task_id, "done", now, note or how, ("open", "snoozed", "cold", "dismissed"),
                   done_how=how, snoozed_until=None)


def snooze(conn: sqlite3.Connection, task_id: int, until: datetime, now: datetime) -> bool:
    """Hide the task until `until`; `wake` opens it again then."""
    if until <= now:
        raise TaskStateError(f"cannot snooze task {task_id} until {until:%Y-%m-%d %H:%M}: that is not in the future")
    return _change(conn, task_id, "snoozed", now, f"until {iso(until)}", ("open", "snoozed"), snoozed_until=iso(until))


def dismiss(conn: sqlite3.Connection, task_id: int, reason: str, now: datetime) -> bool:
    return _change(conn, task_id, "dismissed", now, reason, ("open", "snoozed", "cold"), dismissed_reason=reason,
                   snoozed_until=None)


def mark_cold(conn: sqlite3.Connection, task_id: int, now: datetime, note: str = "no reply") -> bool:
    return _change(conn, task_id, "cold", now, note, ("open", "snoozed"), snoozed_until=None)


def wake(conn: sqlite3.Connection, now: datetime) -> list[int]:
    """Open every snoozed task whose time has come; their ids."""
    ids = [r[0] for r in conn.execute("SELECT id FROM tasks WHERE status='snoozed' AND snoozed_until <= ?", (iso(now),))]
    for task_id in ids:
        _change(conn, task_id, "open", now, "snooze ended", ("snoozed",), snoozed_until=None)
    return ids


def touch_contact(conn: sqlite3.Connection, contact: int, at: datetime) -> None:
    """Remember when the user last wrote to a contact (kept as the latest)."""
    conn.execute("UPDATE contacts SET last_contacted=? WHERE id=? AND (last_contacted IS NULL OR last_contacted < ?)",
                 (iso(at), contact, iso(at)))


def leads(conn: sqlite3.Connection, include_closed: bool = False) -> list[dict]:
    """Each lead with its referrer, its contacts (and how far each is) and every step, oldest
    lead first; without `include_closed`, only leads with a task still open or snoozed."""
    found = conn.execute(
        f"SELECT l.id, l.kind, l.state, l.company, l.role, l.subject, c.name, {contact_email_sql('c')} AS email"
        " FROM leads l LEFT JOIN contacts c ON c.id = l.referrer_id ORDER BY l.created_at, l.id").fetchall()
    steps: dict[int, list[TaskView]] = {}
    for task in get_tasks(conn, statuses=(), lead_ids=[r["id"] for r in found]):
        steps.setdefault(task.lead_id, []).append(task)
    people: dict[int, list[dict]] = {}
    for r in conn.execute(
        f"SELECT lc.lead_id, c.name, {contact_email_sql('c')}, lc.state, lc.nudges, c.last_contacted"
        " FROM lead_contacts lc JOIN contacts c ON c.id = lc.contact_id ORDER BY lc.lead_id, c.id"
    ):
        people.setdefault(r[0], []).append({"name": r[1], "email": r[2], "state": r[3], "nudges": r[4],
                                            "last_contacted": r[5]})
    out = []
    for lead in found:
        lead_tasks = sorted(steps.get(lead["id"], []), key=lambda t: (t.due, t.id))
        if not include_closed and not any(t.status in ("open", "snoozed") for t in lead_tasks):
            continue
        out.append({
            "id": lead["id"], "kind": lead["kind"], "state": lead["state"], "company": lead["company"],
            "role": lead["role"], "subject": lead["subject"],
            "referrer": {"name": lead["name"], "email": lead["email"]} if lead["name"] is not None else None,
            "contacts": people.get(lead["id"], []),
            "steps": [{"id": t.id, "kind": t.kind, "title": t.title, "status": t.status, "due": t.due.isoformat(),
                       "done_how": t.done_how} for t in lead_tasks],
        })
    return out
