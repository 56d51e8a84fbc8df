"""Drafts: render a task's Jinja template into an RFC 5322 message and put it in Drafts.

Templates are trusted files; everything taken from an email is data passed to them,
never compiled as a template, and rendered in a sandbox with StrictUndefined.  Values
bound for a header lose their control characters before the template sees them;
addresses must pass a strict check or are left out; headers are built by the email
library (never by joining strings), so a hostile name or subject cannot add a header.
Each draft gets a Message-ID derived from its task, so it is never appended twice.

Who a draft goes to and how it threads is decided here, by task kind (etiquette):
thank-you and report-back reply in the introduction's thread; the outreach after a
double opt-in introduction replies to all and moves the introducer to Bcc; the outreach
to a referred contact is a new message; a nudge replies to the outreach it follows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from importlib import resources
from pathlib import Path

from .config import AccountSettings, DraftsSettings
from .mail import Person
from .source import MailSource
from .store import utcnow_iso
from .tasks import TaskView, get_tasks

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")  # keeps \n and \t
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*:\s*)+", re.IGNORECASE)
# Plain ASCII addresses only: anything with spaces, quotes, brackets, commas or line
# breaks is refused rather than quoted, because it came from someone else's mail.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,60}$")
# Headers the assistant sets itself; a template's `headers` block may add any other.
RESERVED_HEADERS = frozenset(h.lower() for h in (
    "From", "Sender", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "X-Assistant-Task", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Resent-To",
    "Resent-Cc", "Resent-Bcc", "Return-Path"))
TAG_HEADER = "X-Assistant-Task"
REPLY_KINDS = ("thank", "report_back", "do_request")  # replies in the original thread


def clean_header(value: str, limit: int = 200) -> str:
    """One line of text, safe for a header: no CR, LF or other control characters."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


def clean_text(value: str, limit: int = 2000) -> str:  # multi-line: for the body only
    return _TEXT_CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))[:limit]


def valid_address(value: str | None) -> str | None:
    """The address if it is a plain, well-formed one, else None."""
    value = (value or "").strip()
    return value if _ADDRESS.match(value) else None


def strip_reply(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject or "").strip()


def first_name(name: str) -> str:
    parts = clean_header(name).replace(",", " ").split()
    return parts[0] if parts else "there"


def _person(person: Person | None) -> dict | None:
    if person is None:
        return None
    email = valid_address(person.email)
    name = clean_header(person.name) or (email or "")
    return {"name": name, "first_name": first_name(name), "email": email}


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
    env.filters["first_name"] = first_name
    env.drafts_settings = settings  # render() reads the etiquette switches from here
    # The optional html block is compiled a second time with autoescape on: a name from
    # someone's mail must not become markup.
    env.html_env = SandboxedEnvironment(loader=env.loader, undefined=StrictUndefined, autoescape=True)
    env.html_env.filters.update(env.filters)
    return env


def template_names(env) -> list[str]:
    return sorted(n[:-3] for n in env.list_templates(extensions=["j2"]) if "/" not in n)


def draft_message_id(task_key: str, me: str) -> str:
    digest = hashlib.sha256(task_key.encode("utf-8")).hexdigest()[:24]
    domain = me.rsplit("@", 1)[-1]
    return f"assistant.{digest}@{domain}"


def task_tag(task_key: str) -> str:
    return hashlib.sha256(task_key.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Draft:
    task_id: int
    message_id: str
    recipients: list[str]
    subject: str
    content: bytes
    task_tag: str = ""


@dataclass(slots=True)
class Addressing:
    to: list[Person]
    cc: list[Person] = field(default_factory=list)
    bcc: list[Person] = field(default_factory=list)
    in_reply_to: str = ""  # a Message-ID without brackets: this draft is a reply to it
    references: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Parts:
    subject: str
    body: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    html: str | None = None


class RenderError(ValueError):
    """A template failed, or the task has no one to write to."""


# --- what a template sees ----------------------------------------------------------------

def _rows_people(value: str | None, key: str) -> list[Person]:
    try:
        data = json.loads(value or "{}").get(key) or []
    except (ValueError, AttributeError):
        return []
    return [Person(str(n or ""), e) for n, e in data if isinstance(e, str)]


def _lead(conn: sqlite3.Connection, task: TaskView, now: datetime) -> dict:
    """The lead and its history: when the outreach went out, nudges sent, every task event."""
    sent = conn.execute(
        "SELECT d.sent_at, d.subject, d.message_id, COALESCE(t.about_id, t.contact_id) AS about FROM drafts d"
        " JOIN tasks t ON t.id=d.task_id WHERE t.lead_id=? AND t.kind='reach_out' AND d.state='sent'"
        " ORDER BY d.sent_at", (task.lead_id,)).fetchall()
    done_at = sent[0]["sent_at"] if sent else conn.execute(
        "SELECT MIN(e.at) FROM task_events e JOIN tasks t ON t.id=e.task_id"
        " WHERE t.lead_id=? AND t.kind='reach_out' AND e.status='done'", (task.lead_id,)).fetchone()[0]
    days = None
    if done_at:
        days = max((now - datetime.fromisoformat(done_at).astimezone(timezone.utc)).days, 0)
    history = [{"at": r["at"], "task": r["kind"], "status": r["status"], "note": clean_header(r["note"] or "")}
               for r in conn.execute("SELECT e.at, t.kind, e.status, e.note FROM task_events e JOIN tasks t"
                                     " ON t.id=e.task_id WHERE t.lead_id=? ORDER BY e.at, e.id", (task.lead_id,))]
    nudges = conn.execute("SELECT COUNT(*) FROM tasks WHERE lead_id=? AND kind='nudge' AND status='done'",
                          (task.lead_id,)).fetchone()[0]
    about = conn.execute("SELECT COALESCE(about_id, contact_id) FROM tasks WHERE id=?", (task.id,)).fetchone()[0]
    row = next((r for r in sent if r["about"] == about), sent[0] if sent else None)
    outreach = None
    if row is not None:  # the outreach a nudge follows up: to this contact, else the lead's first
        outreach = {"subject": clean_header(row["subject"], 300), "message_id": row["message_id"], "date": row["sent_at"]}
    return {"kind": task.lead_kind, "subject": clean_header(task.subject, 300),
            "company": clean_header(task.company or "") or None, "role": clean_header(task.role or "") or None,
            "outreach_date": done_at, "days_since_outreach": days, "nudges_sent": nudges,
            "history": history, "outreach": outreach}


def build_context(conn: sqlite3.Connection, task: TaskView, account: AccountSettings,
                  now: datetime | None = None) -> tuple[dict, sqlite3.Row | None]:
    now = now or datetime.now(timezone.utc)
    original = conn.execute(
        "SELECT * FROM messages WHERE account=? AND message_id=?", (task.account, task.message_id)).fetchone()
    contacts = list(task.contacts)
    contact = task.contact or (task.to if task.to != task.referrer else None) or (contacts[0] if contacts else None)
    requests: list[str] = []
    if original is not None and original["detection"]:
        requests = [clean_header(r, 300) for r in json.loads(original["detection"]).get("requests") or []]
    date = original["date"] if original is not None else None
    context = {
        "me": _person(Person(account.name, account.email)), "contact": _person(contact),
        "contacts": [_person(c) for c in contacts], "referrer": _person(task.referrer),
        "company": clean_header(task.company or "") or None, "role": clean_header(task.role or "") or None,
        "lead_kind": task.lead_kind, "lead": _lead(conn, task, now), "requests": requests,
        "task": {"id": task.id, "kind": task.kind, "title": clean_header(task.title, 300), "due": task.due},
        "original": {
            "subject": clean_header(original["subject"] if original is not None else task.subject, 300),
            "date": datetime.fromisoformat(date).strftime("%-d %b %Y") if date else None,
            "message_id": task.message_id,
            "sender": clean_header(original["sender"] or "") if original is not None else "",
            "excerpt": clean_text(original["excerpt"] or "", 600) if original is not None else "",
        },
    }
    return context, original


def addressing(task: TaskView, context: dict, original: sqlite3.Row | None, account: AccountSettings,
               settings: DraftsSettings) -> Addressing:
    """Who the draft goes to and what it replies to, by task kind (see the module doc)."""
    me = account.addresses
    refs = re.findall(r"<([^<>\s]+)>", original["refs"] or "") if original is not None else []
    thread = (task.message_id, (refs + [task.message_id])[-20:])
    referrer, to = task.referrer, task.to
    if task.kind in REPLY_KINDS:
        if task.kind == "do_request" and original is not None:
            reply_to = _rows_people(original["recipients"], "reply_to")
            to = reply_to[0] if reply_to else Person(referrer.name if referrer else "", original["sender"])
        to = to or referrer
        return Addressing([to] if to else [], in_reply_to=thread[0], references=thread[1])
    if task.kind == "reach_out" and task.lead_kind == "introduction":
        out = Addressing([to] if to else [], in_reply_to=thread[0], references=thread[1])
        if settings.outreach_reply_all:
            out.cc = list(task.contacts)
            if original is not None:
                out.cc += _rows_people(original["recipients"], "to") + _rows_people(original["recipients"], "cc")
            out.cc = [p for p in out.cc if not _same(p, to) and not _same(p, referrer)]
        if referrer is not None and settings.outreach_referrer != "none":
            (out.bcc if settings.outreach_referrer == "bcc" else out.cc).append(referrer)
        return _dedupe(out, me)
    if task.kind == "nudge" and context["lead"]["outreach"]:
        sent = context["lead"]["outreach"]
        return Addressing([to] if to else [], in_reply_to=sent["message_id"], references=[sent["message_id"]])
    if task.kind == "act_on_lead" and (to is None or _same(to, referrer)):
        named = [p for p in task.contacts if not _same(p, referrer)]
        return Addressing(named[:1])
    return Addressing([to] if to else ([referrer] if referrer else []))


def _same(a: Person | None, b: Person | None) -> bool:
    return bool(a and b and (a.email or "").lower() == (b.email or "-").lower())


def _dedupe(out: Addressing, me: frozenset[str]) -> Addressing:
    """Each address once, in the first of To, Cc, Bcc that has it; never me."""
    seen = set(me)
    for name in ("to", "cc", "bcc"):
        kept = [p for p in getattr(out, name) if (valid_address(p.email) or "").lower() not in seen | {""}
                and not seen.add(p.email.lower())]  # set.add returns None: keeps the first of each
        setattr(out, name, kept)
    return out


# --- rendering -----------------------------------------------------------------------------

def render_parts(env, name: str, context: dict) -> Parts:
    """Render a template's blocks: subject and body (required), headers and html (optional)."""
    template = env.get_template(f"{name}.j2")
    for block in ("subject", "body"):
        if block not in template.blocks:
            raise RenderError(f"{template.filename}: no {{% block {block} %}}")

    def block(block_name: str, source=template, owner=env) -> str:
        try:
            return "".join(source.blocks[block_name](source.new_context(dict(context))))
        except Exception:
            owner.handle_exception()  # re-raised with the template's own file and line in the traceback

    headers = []
    if "headers" in template.blocks:
        for line in block("headers").splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or not _HEADER_NAME.match(key) or key.lower() in RESERVED_HEADERS:
                raise RenderError(f"{template.filename}: block headers: {line[:60]!r} is not an allowed 'Name: value' line")
            headers.append((key, clean_header(value, 500)))
    html = None
    if "html" in template.blocks:
        html_env = getattr(env, "html_env", env)
        html = block("html", html_env.get_template(f"{name}.j2"), html_env).strip()
    return Parts(clean_header(block("subject"), 300), block("body").strip() + "\n", headers, html or None)


def build_message(parts: Parts, to: Addressing, account: AccountSettings, message_id: str, tag: str,
                  when: datetime | None = None) -> EmailMessage:
    def addresses(people: list[Person]) -> tuple[Address, ...]:
        return tuple(Address(display_name=clean_header(p.name), addr_spec=valid_address(p.email))
                     for p in people if valid_address(p.email))

    body = parts.body
    if account.signature:
        body += "\n-- \n" + account.signature.strip() + "\n"
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=clean_header(account.name), addr_spec=account.email)
    msg["To"] = addresses(to.to)
    for name, people in (("Cc", to.cc), ("Bcc", to.bcc)):
        if addresses(people):
            msg[name] = addresses(people)
    msg["Subject"] = parts.subject
    if to.in_reply_to:
        msg["In-Reply-To"] = f"<{to.in_reply_to}>"
        msg["References"] = " ".join(f"<{r}>" for r in dict.fromkeys(to.references or [to.in_reply_to]))
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = format_datetime(when or datetime.now().astimezone())
    msg[TAG_HEADER] = tag
    for name, value in parts.headers:
        msg[name] = value
    msg.set_content(body)
    if parts.html:
        msg.add_alternative(parts.html, subtype="html")
    return msg


def render(conn: sqlite3.Connection, env, task: TaskView, account: AccountSettings,
           template: str | None = None) -> Draft:
    """The draft for a task whose rule names a template (or `template`, for a preview)."""
    from jinja2 import TemplateError

    settings = getattr(env, "drafts_settings", None) or DraftsSettings()
    key = conn.execute("SELECT key FROM tasks WHERE id=?", (task.id,)).fetchone()[0]
    context, original = build_context(conn, task, account)
    to = addressing(task, context, original, account, settings)
    context["bcc_referrer"] = any(p == task.referrer for p in to.bcc)
    if not to.to or not valid_address(to.to[0].email):
        raise RenderError(f"task {task.id} ({task.kind}): no valid address to write to")
    try:
        parts = render_parts(env, template or task.template or "", context)
    except (TemplateError, ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        # A user's template is code we run: whatever it raises is its error, not the scan's.
        raise RenderError(f"task {task.id}: template {template or task.template!r}: {type(exc).__name__}: {exc}") from exc
    message_id = draft_message_id(key, account.email)
    msg = build_message(parts, to, account, message_id, task_tag(key))
    recipients = [a.addr_spec for h in ("To", "Cc", "Bcc") for a in (msg[h].addresses if msg[h] else ())]
    return Draft(task.id, message_id, recipients, parts.subject, bytes(msg), task_tag(key))


def undrafted_tasks(conn: sqlite3.Connection, account_name: str, retry_failed: bool = False) -> list[int]:
    """Open tasks with a template but no draft (a nudge opened after a send); with
    `retry_failed`, also those whose drafting failed before (a template since fixed)."""
    return [r[0] for r in conn.execute(
        "SELECT t.id FROM tasks t LEFT JOIN drafts d ON d.task_id=t.id WHERE t.account=? AND t.status='open'"
        " AND t.template IS NOT NULL AND t.template != '' AND d.task_id IS NULL AND (t.draft_error IS NULL OR ?)",
        (account_name, retry_failed))]


def prepare(conn: sqlite3.Connection, env, task_ids: list[int], account_name: str, account: AccountSettings) -> int:
    """Render drafts for new tasks that have a template; they wait as 'pending' until appended.

    A task that cannot be drafted (no address, a broken user template) is logged and
    left without a draft: the scan goes on, and `assistant templates check` says why."""
    made = 0
    for task in get_tasks(conn, task_ids, statuses=("open", "snoozed")):
        if not task.template:
            continue
        try:
            draft = render(conn, env, task, account)
        except RenderError as exc:  # no one to write to is normal (a lead to apply for online)
            (log.info if "no valid address" in str(exc) else log.warning)("no draft: %s", exc)
            conn.execute("UPDATE tasks SET draft_error=? WHERE id=?", (str(exc)[:500], task.id))
            continue
        now = utcnow_iso()
        cursor = conn.execute(
            "INSERT OR IGNORE INTO drafts (task_id, message_id, account, recipients, subject, content, state,"
            " task_tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (draft.task_id, draft.message_id, account_name, ",".join(draft.recipients), draft.subject, draft.content,
             draft.task_tag, now, now),
        )
        made += cursor.rowcount
        conn.execute("UPDATE tasks SET draft_error=NULL WHERE id=? AND draft_error IS NOT NULL", (task.id,))
    return made


def append_pending(conn: sqlite3.Connection, source: MailSource, account_name: str) -> int:
    """Append every pending draft not already in the Drafts folder; mark each appended.

    Only 'pending' drafts are appended: a draft already in Drafts is never rewritten, so
    what the user changed in their mail client stays as they left it."""
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
        conn.execute("UPDATE drafts SET state='appended', updated_at=? WHERE task_id=? AND state='pending'",
                     (utcnow_iso(), row["task_id"]))
    return appended
