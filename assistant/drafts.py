"""Drafts: render a task's Jinja template into an RFC 5322 message and put it in Drafts.

Templates are trusted files; everything taken from an email is data passed to them,
never compiled as a template, rendered in a sandbox with StrictUndefined.  Header
values are stripped of control characters before they reach a header, and each draft
gets a Message-ID derived from its task, so the same draft is never appended twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from importlib import resources
from pathlib import Path

from .config import AccountSettings, DraftsSettings
from .mail import Person
from .source import MailSource
from .store import utcnow_iso
from .tasks import TaskView, get_tasks

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*:\s*)+", re.IGNORECASE)


def clean_header(value: str, limit: int = 200) -> str:
    """One line of text, safe for a header: no CR, LF or other control characters."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


def strip_reply(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject or "").strip()


def first_name(name: str) -> str:
    parts = clean_header(name).replace(",", " ").split()
    return parts[0] if parts else "there"


def _person(person: Person | None) -> dict | None:
    if person is None:
        return None
    name = clean_header(person.name) or (person.email or "")
    return {"name": name, "first_name": first_name(name), "email": person.email}


def environment(settings: DraftsSettings):
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    loaders = []
    if settings.templates_dir:
        loaders.append(FileSystemLoader(str(Path(settings.templates_dir).expanduser())))
    loaders.append(FileSystemLoader(str(resources.files("assistant.templates"))))
    env = SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
                               keep_trailing_newline=False)
    env.filters["strip_reply"] = strip_reply
    return env


def draft_message_id(task_key: str, me: str) -> str:
    digest = hashlib.sha256(task_key.encode("utf-8")).hexdigest()[:24]
    domain = me.rsplit("@", 1)[-1]
    return f"assistant.{digest}@{domain}"


@dataclass(frozen=True, slots=True)
class Draft:
    task_id: int
    message_id: str
    recipients: list[str]
    subject: str
    content: bytes


def _lead_contacts(conn: sqlite3.Connection, task: TaskView) -> list[Person]:
    rows = conn.execute(
        "SELECT c.name, (SELECT email FROM contact_addresses WHERE contact_id=c.id ORDER BY rowid LIMIT 1)"
        " FROM tasks t JOIN lead_contacts lc ON lc.lead_id=t.lead_id JOIN contacts c ON c.id=lc.contact_id"
        " WHERE t.id=? ORDER BY c.id",
        (task.id,),
    )
    return [Person(name, email) for name, email in rows]


def render(conn: sqlite3.Connection, env, task: TaskView, account: AccountSettings) -> Draft:
    """The draft for a task whose rule names a template."""
    key = conn.execute("SELECT key FROM tasks WHERE id=?", (task.id,)).fetchone()[0]
    original = conn.execute(
        "SELECT subject, date, sender FROM messages WHERE account=? AND message_id=?", (task.account, task.message_id)
    ).fetchone()
    contacts = _lead_contacts(conn, task)
    contact = task.contact if task.kind != "thank" else (contacts[0] if contacts else None)
    context = {
        "me": _person(Person(account.name, account.email)),
        "contact": _person(contact),
        "contacts": [_person(c) for c in contacts],
        "referrer": _person(task.referrer),
        "company": clean_header(task.company or "") or None,
        "role": clean_header(task.role or "") or None,
        "lead_kind": task.lead_kind,
        "task": {"id": task.id, "kind": task.kind, "title": task.title, "due": task.due},
        "original": {"subject": clean_header(original["subject"] if original else task.subject, 300),
                     "date": original["date"] if original else None, "message_id": task.message_id},
    }
    template = env.get_template(f"{task.template}.j2")
    subject = clean_header("".join(template.blocks["subject"](template.new_context(context))), 300)
    body = "".join(template.blocks["body"](template.new_context(context))).strip() + "\n"
    if account.signature:
        body += "\n-- \n" + account.signature.strip() + "\n"

    to_person = task.referrer if task.kind == "thank" else task.contact
    if to_person is None or not to_person.email:
        raise ValueError(f"task {task.id}: no address to write to")
    message_id = draft_message_id(key, account.email)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((clean_header(account.name), account.email))
    msg["To"] = Address(display_name=clean_header(to_person.name), addr_spec=to_person.email)
    bcc = []
    if task.kind == "reach_out" and task.lead_kind == "introduction" and task.referrer and task.referrer.email:
        # Etiquette for a double opt-in: reply-all, moving the introducer to Bcc.
        msg["Bcc"] = Address(display_name=clean_header(task.referrer.name), addr_spec=task.referrer.email)
        bcc.append(task.referrer.email)
    msg["Subject"] = subject
    if subject.lower().startswith("re:"):
        msg["In-Reply-To"] = f"<{task.message_id}>"
        msg["References"] = f"<{task.message_id}>"
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["X-Assistant-Task"] = hashlib.sha256(key.encode()).hexdigest()[:24]
    msg.set_content(body)
    return Draft(task.id, message_id, [to_person.email, *bcc], subject, bytes(msg))


def prepare(conn: sqlite3.Connection, env, task_ids: list[int], account_name: str, account: AccountSettings) -> int:
    """Render drafts for new tasks that have a template; they wait as 'pending' until appended."""
    made = 0
    for task in get_tasks(conn, task_ids):
        if not task.template:
            continue
        draft = render(conn, env, task, account)
        now = utcnow_iso()
        conn.execute(
            "INSERT OR IGNORE INTO drafts (task_id, message_id, account, recipients, subject, content, state,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (draft.task_id, draft.message_id, account_name, ",".join(draft.recipients), draft.subject, draft.content, now, now),
        )
        made += 1
    return made


def append_pending(conn: sqlite3.Connection, source: MailSource, account_name: str) -> int:
    """Append every pending draft not already in the Drafts folder; mark each appended."""
    pending = conn.execute(
        "SELECT task_id, message_id, content FROM drafts WHERE account=? AND state='pending' ORDER BY task_id",
        (account_name,),
    ).fetchall()
    if not pending:
        return 0
    present = source.drafts_present(row["message_id"] for row in pending)
    appended = 0
    for row in pending:
        if row["message_id"] not in present:
            source.append_draft(row["content"])
            appended += 1
        # Recorded after the APPEND: a crash in between leaves it pending, and the next run
        # finds it in Drafts by its Message-ID instead of appending it again.
        conn.execute("UPDATE drafts SET state='appended', updated_at=? WHERE task_id=?", (utcnow_iso(), row["task_id"]))
    return appended
