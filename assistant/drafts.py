"""Drafts: render a task's Jinja template into an RFC 5322 message and put it in Drafts.

Templates are trusted files; everything taken from an email is data passed to them,
never compiled as a template, and rendered in a sandbox with StrictUndefined.  Values
bound for a header lose their control characters before the template sees them, and
again as `compose` writes them; addresses and Message-IDs must pass strict checks or
are left out.  Each draft gets a Message-ID derived from its task, so it is never
appended twice.

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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, getaddresses
from importlib import resources
from pathlib import Path

from .compose import (
    CRLF,
    address_header,
    clean_header,
    ids_header,
    text_header,
    text_part,
    valid_address,
    valid_message_id,
)
from .config import AccountSettings, DraftsSettings
from .mail import Person
from .source import MailSource
from .store import IN_LIST, utcnow_iso
from .tasks import TaskView, get_tasks

log = logging.getLogger(__name__)
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")  # keeps \n and \t
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*:\s*)+", re.IGNORECASE)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,60}$")
# Headers the assistant sets itself; a template's `headers` block may add any other.
RESERVED_HEADERS = frozenset(h.lower() for h in (
    "From", "Sender", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "X-Assistant-Task", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Resent-To",
    "Resent-Cc", "Resent-Bcc", "Return-Path"))
TAG_HEADER = "X-Assistant-Task"
APPEND_CHUNK = 100  # drafts a command (IMAP MULTIAPPEND): a crash repeats at most one chunk's check
REPLY_KINDS = ("thank", "report_back", "do_request")  # replies in the original thread


def clean_text(value: str, limit: int = 2000) -> str:  # multi-line: for the body only
    return _TEXT_CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))[:limit]


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
    # auto_reload off: an environment lives for one run, and checking each template file's
    # time before every draft costs more than rendering it.
    env = SandboxedEnvironment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False,
                               keep_trailing_newline=False, auto_reload=False)
    env.filters["strip_reply"] = strip_reply
    env.filters["first_name"] = first_name
    env.drafts_settings = settings  # render() reads the etiquette switches from here
    # The optional html block is compiled a second time with autoescape on: a name from
    # someone's mail must not become markup.
    env.html_env = SandboxedEnvironment(loader=env.loader, undefined=StrictUndefined, autoescape=True, auto_reload=False)
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


class Facts:
    """What the drafts of some tasks read from the database, in one query a table rather
    than seven a task: a first scan drafts hundreds of tasks at once."""

    def __init__(self, conn: sqlite3.Connection, tasks: list[TaskView]):
        ids = json.dumps([t.id for t in tasks])
        leads = json.dumps(sorted({t.lead_id for t in tasks}))
        # task id -> (its key, whom it is about)
        self.tasks = {r[0]: (r[1], r[2]) for r in conn.execute(
            f"SELECT id, key, COALESCE(about_id, contact_id) FROM tasks WHERE id {IN_LIST}", (ids,))}
        self.originals: dict[tuple[str, str], sqlite3.Row] = {}  # (account, message id) -> the email
        for account in {t.account for t in tasks}:
            wanted = json.dumps([t.message_id for t in tasks if t.account == account])
            for row in conn.execute(f"SELECT * FROM messages WHERE account=? AND message_id {IN_LIST}", (account, wanted)):
                self.originals[account, row["message_id"]] = row
        # lead -> its outreach drafts sent, oldest first
        self.sent: dict[int, list[sqlite3.Row]] = defaultdict(list)
        for row in conn.execute(
                "SELECT t.lead_id, d.sent_at, d.subject, d.message_id, COALESCE(t.about_id, t.contact_id) AS about"
                f" FROM drafts d JOIN tasks t ON t.id=d.task_id WHERE t.lead_id {IN_LIST} AND t.kind='reach_out'"
                " AND d.state='sent' ORDER BY d.sent_at, d.task_id", (leads,)):
            self.sent[row["lead_id"]].append(row)
        # lead -> when its outreach was first done (sent from a mail client, say)
        self.done_at = dict(conn.execute(
            f"SELECT t.lead_id, MIN(e.at) FROM task_events e JOIN tasks t ON t.id=e.task_id WHERE t.lead_id {IN_LIST}"
            " AND t.kind='reach_out' AND e.status='done' GROUP BY t.lead_id", (leads,)).fetchall())
        # lead -> (at, task kind, status, note) for every event of its tasks, oldest first
        self.history: dict[int, list[tuple]] = defaultdict(list)
        for lead, at, kind, status, note in conn.execute(
                f"SELECT t.lead_id, e.at, t.kind, e.status, e.note FROM task_events e JOIN tasks t ON t.id=e.task_id"
                f" WHERE t.lead_id {IN_LIST} ORDER BY e.at, e.id", (leads,)):
            self.history[lead].append((at, kind, status, clean_header(note or "")))
        self.nudges = dict(conn.execute(
            f"SELECT lead_id, COUNT(*) FROM tasks WHERE lead_id {IN_LIST} AND kind='nudge' AND status='done'"
            " GROUP BY lead_id", (leads,)).fetchall())


def _lead(facts: Facts, task: TaskView, now: datetime) -> dict:
    """The lead and its history: when the outreach went out, nudges sent, every task event."""
    sent = facts.sent.get(task.lead_id, [])
    done_at = sent[0]["sent_at"] if sent else facts.done_at.get(task.lead_id)
    days = None
    if done_at:
        days = max((now - datetime.fromisoformat(done_at).astimezone(UTC)).days, 0)
    # Dicts of its own for each task: a template may change what it is given.
    history = [{"at": at, "task": kind, "status": status, "note": note}
               for at, kind, status, note in facts.history.get(task.lead_id, ())]
    about = facts.tasks[task.id][1]
    row = next((r for r in sent if r["about"] == about), sent[0] if sent else None)
    outreach = None
    if row is not None:  # the outreach a nudge follows up: to this contact, else the lead's first
        outreach = {"subject": clean_header(row["subject"], 300), "message_id": row["message_id"], "date": row["sent_at"]}
    return {"kind": task.lead_kind, "subject": clean_header(task.subject, 300),
            "company": clean_header(task.company or "") or None, "role": clean_header(task.role or "") or None,
            "outreach_date": done_at, "days_since_outreach": days, "nudges_sent": facts.nudges.get(task.lead_id, 0),
            "history": history, "outreach": outreach}


def build_context(facts: Facts, task: TaskView, account: AccountSettings,
                  now: datetime | None = None) -> tuple[dict, sqlite3.Row | None]:
    now = now or datetime.now(UTC)
    original = facts.originals.get((task.account, task.message_id))
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
        "lead_kind": task.lead_kind, "lead": _lead(facts, task, now), "requests": requests,
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

    # One context for all of a template's blocks, as a whole render has; new_context copies `context`.
    shared = template.new_context(context)

    def block(block_name: str, source=template, owner=env, block_context=shared) -> str:
        try:
            return "".join(source.blocks[block_name](block_context))
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
        html_template = html_env.get_template(f"{name}.j2")
        html = block("html", html_template, html_env, html_template.new_context(context)).strip()
    return Parts(clean_header(block("subject"), 300), block("body").strip() + "\n", headers, html or None)


def build_message(parts: Parts, to: Addressing, account: AccountSettings, message_id: str, tag: str,
                  when: datetime | None = None) -> bytes:
    """The draft, as the bytes stored and appended to Drafts."""
    body = parts.body
    if account.signature:
        body += "\n-- \n" + account.signature.strip() + "\n"
    sender = address_header("From", [Person(account.name, account.email)])
    if not sender or not valid_message_id(message_id):
        raise RenderError(f"cannot write a draft from {account.email!r} with Message-ID {message_id!r}")
    head = [sender, address_header("To", to.to), address_header("Cc", to.cc), address_header("Bcc", to.bcc),
            text_header("Subject", parts.subject)]
    if to.in_reply_to:
        head += [ids_header("In-Reply-To", [to.in_reply_to]),
                 ids_header("References", list(dict.fromkeys(to.references or [to.in_reply_to])))]
    head += [ids_header("Message-ID", [message_id]), f"Date: {format_datetime(when or datetime.now().astimezone())}{CRLF}",
             text_header(TAG_HEADER, tag)]
    for name, value in parts.headers:
        if not _HEADER_NAME.fullmatch(name) or name.lower() in RESERVED_HEADERS:  # as render_parts makes them
            raise RenderError(f"{name!r} is not a header a template may set")
        # Reply-To is the one address header a template may set (From, To, Cc, Bcc are ours).
        head.append(address_header(name, [Person(n, a) for n, a in getaddresses([value])])
                    if name.lower() == "reply-to" else text_header(name, value))
    head.append(f"MIME-Version: 1.0{CRLF}")
    if not parts.html:
        return "".join(head).encode("ascii") + text_part("plain", body)
    # "=_" cannot occur in quoted-printable or base64, and a part sent as it is that holds the
    # boundary is encoded (see text_part): the boundary is in no part.
    boundary = "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    head.append(f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"{CRLF}{CRLF}--{boundary}{CRLF}')
    return ("".join(head).encode("ascii") + text_part("plain", body, boundary) + f"{CRLF}--{boundary}{CRLF}".encode()
            + text_part("html", parts.html, boundary) + f"{CRLF}--{boundary}--{CRLF}".encode())


def _render(env, task: TaskView, account: AccountSettings, facts: Facts, template: str | None = None,
            now: datetime | None = None) -> Draft:
    from jinja2 import TemplateError

    settings = getattr(env, "drafts_settings", None) or DraftsSettings()
    key = facts.tasks[task.id][0]
    context, original = build_context(facts, task, account, now)
    to = addressing(task, context, original, account, settings)
    context["bcc_referrer"] = any(p == task.referrer for p in to.bcc)
    if not to.to or not valid_address(to.to[0].email):
        raise RenderError(f"task {task.id} ({task.kind}): no valid address to write to")
    try:
        parts = render_parts(env, template or task.template or "", context)
    except (TemplateError, ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        # A user's template is code we run: whatever it raises is its error, not the scan's.
        raise RenderError(f"task {task.id}: template {template or task.template!r}: {type(exc).__name__}: {exc}") from exc
    message_id, tag = draft_message_id(key, account.email), task_tag(key)
    content = build_message(parts, to, account, message_id, tag)
    # The addresses build_message wrote: those that pass the check, To then Cc then Bcc.
    recipients = [a for p in (*to.to, *to.cc, *to.bcc) if (a := valid_address(p.email))]
    return Draft(task.id, message_id, recipients, parts.subject, content, tag)


def render(conn: sqlite3.Connection, env, task: TaskView, account: AccountSettings,
           template: str | None = None) -> Draft:
    """The draft for a task whose rule names a template (or `template`, for a preview)."""
    return _render(env, task, account, Facts(conn, [task]), template)


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
    tasks = [t for t in get_tasks(conn, task_ids, statuses=("open", "snoozed")) if t.template]
    facts, now = Facts(conn, tasks), datetime.now(UTC)
    made, failed = [], []
    for task in tasks:
        try:
            made.append(_render(env, task, account, facts, now=now))
        except RenderError as exc:  # no one to write to is normal (a lead to apply for online)
            (log.info if "no valid address" in str(exc) else log.warning)("no draft: %s", exc)
            failed.append((str(exc)[:500], task.id))
    conn.executemany("UPDATE tasks SET draft_error=? WHERE id=?", failed)
    created = utcnow_iso()
    cursor = conn.executemany(
        "INSERT OR IGNORE INTO drafts (task_id, message_id, account, recipients, subject, content, state,"
        " task_tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
        [(d.task_id, d.message_id, account_name, ",".join(d.recipients), d.subject, d.content, d.task_tag,
          created, created) for d in made])
    conn.execute(f"UPDATE tasks SET draft_error=NULL WHERE id {IN_LIST} AND draft_error IS NOT NULL",
                 (json.dumps([d.task_id for d in made]),))
    return cursor.rowcount


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
    missing = [row for row in pending if row["message_id"] not in present]
    appended = 0
    for start in range(0, len(missing), APPEND_CHUNK):
        chunk = missing[start : start + APPEND_CHUNK]
        source.append_drafts([row["content"] for row in chunk])
        appended += len(chunk)
        # Recorded after the APPEND: a crash in between leaves them pending, and the next run
        # finds them in Drafts by their Message-IDs instead of appending them again.
        _mark_appended(conn, [row["task_id"] for row in chunk])
    _mark_appended(conn, [row["task_id"] for row in pending if row["message_id"] in present])
    return appended


def _mark_appended(conn: sqlite3.Connection, task_ids: list[int]) -> None:
    now = utcnow_iso()
    conn.executemany("UPDATE drafts SET state='appended', updated_at=? WHERE task_id=? AND state='pending'",
                     [(now, task_id) for task_id in task_ids])
