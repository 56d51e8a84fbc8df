"""`assistant review`: walk the pending drafts, oldest due first, and decide each in a keystroke.

Each draft is shown as it would go out (the Drafts folder's version when the user edited
it in their mail client), with its task, lead and due time.  Keys: a approve and send,
e edit in $EDITOR, s skip, d dismiss (asks a reason), z snooze (asks until when),
q quit.  On a terminal a key is read alone (no Enter); when stdin is not a terminal
(a pipe, a script) a line is read and its first letter counts.
"""

from __future__ import annotations

import imaplib
import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from . import drafts, send, tasks
from .config import Settings
from .errors import AssistantError, MailboxError
from .source import MailSource
from .store import transaction, utcnow_iso

KEYS = {"a": "approve", "e": "edit", "s": "skip", "d": "dismiss", "z": "snooze", "q": "quit"}
PROMPT = "[a]pprove+send  [e]dit  [s]kip  [d]ismiss  [z] snooze  [q]uit > "


class Terminal:
    """Plain terminal I/O: single keys in cbreak mode on a tty, lines otherwise."""

    def __init__(self, stdin=None, stdout=None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    def write(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def key(self, prompt: str) -> str:
        if self.stdin.isatty():
            import termios
            import tty

            fd = self.stdin.fileno()
            saved = termios.tcgetattr(fd)
            try:
                # cbreak before the prompt shows, and TCSANOW (not the default TCSAFLUSH):
                # a key typed the moment the prompt appears must not be thrown away.
                tty.setcbreak(fd, termios.TCSANOW)
                self.stdout.write(prompt)
                self.stdout.flush()
                char = os.read(fd, 1).decode("utf-8", "replace")
            finally:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            self.write(char)
            return "q" if char in ("\x03", "\x04", "") else char.lower()
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return "q"  # end of input: stop, change nothing more
        self.write()
        return (line.strip()[:1] or "?").lower()

    def line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        return self.stdin.readline().strip()


class Reconnecting:
    """A mail source that reconnects once when the server dropped the session (a review can
    sit at a prompt longer than the server's idle timeout).  Appends are not retried blindly."""

    _NOT_RETRIED = ("append_drafts", "append_sent", "close")

    def __init__(self, connect):
        self._connect = connect
        self._source = connect()

    def __getattr__(self, name: str):
        attr = getattr(self._source, name)
        if not callable(attr) or name in self._NOT_RETRIED:
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except (MailboxError, OSError, imaplib.IMAP4.abort):
                try:
                    self._source.close()
                except Exception:  # noqa: BLE001  (the session is gone anyway)
                    pass
                self._source = self._connect()
                return getattr(self._source, name)(*args, **kwargs)

        return call


@dataclass
class Summary:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    dismissed: list[int] = field(default_factory=list)
    snoozed: list[int] = field(default_factory=list)
    edited: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def pending(conn: sqlite3.Connection, account_name: str) -> list[tasks.TaskView]:
    """Open tasks with a draft not yet sent, oldest due first."""
    ids = [r[0] for r in conn.execute(
        "SELECT t.id FROM tasks t JOIN drafts d ON d.task_id=t.id WHERE t.account=? AND t.status='open'"
        " AND d.state IN ('pending', 'appended', 'sending')", (account_name,))]
    return tasks.get_tasks(conn, ids, statuses=("open",)) if ids else []


def describe(content: bytes) -> tuple[list[tuple[str, str]], str]:
    """(headers to show, text body) of a draft, for review and preview."""
    msg = message_from_bytes(content, policy=SMTP_POLICY.clone(raise_on_defect=False))
    shown = [(h, str(msg[h])) for h in ("From", "To", "Cc", "Bcc", "Subject", "In-Reply-To", "Date") if msg[h]]
    part = msg.get_body(("plain",)) if isinstance(msg, EmailMessage) else None
    try:
        text = part.get_content() if part is not None else ""
    except (LookupError, ValueError):
        text = part.get_payload(decode=True).decode("utf-8", "replace") if part is not None else ""
    return shown, text.replace("\r\n", "\n")


def show(term: Terminal, task: tasks.TaskView, content: bytes, note: str, position: str, now: datetime) -> None:
    headers, body = describe(content)
    due = task.due.astimezone()
    late = " (overdue)" if task.due < now else ""
    lead = " ".join(x for x in (task.lead_kind, "·", task.company or "", task.role or "") if x).strip(" ·")
    via = f" via {task.referrer.name or task.referrer.email}" if task.referrer else ""
    term.write("=" * 72)
    term.write(f"{position}  task {task.id}: {task.title}")
    term.write(f"lead: {lead}{via}   due: {due:%a %d %b %H:%M}{late}")
    if note:
        term.write(f"note: {note}")
    term.write("-" * 72)
    for name, value in headers:
        term.write(f"{name}: {value}")
    term.write("")
    term.write(body.rstrip())
    term.write("-" * 72)


# --- editing: a plain form of the headers a user changes, then the body ----------------------------

FORM_HEADERS = ("To", "Cc", "Bcc", "Subject")


def to_form(content: bytes) -> str:
    headers, body = describe(content)
    shown = dict(headers)
    return "".join(f"{h}: {shown.get(h, '')}\n" for h in FORM_HEADERS) + "\n" + body


def from_form(content: bytes, text: str) -> bytes:
    """The draft with the form's headers and body; raises ValueError on a bad address."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    values = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().title() in FORM_HEADERS:
            values[name.strip().title()] = drafts.clean_header(value, 2000)
    msg = message_from_bytes(content, policy=SMTP_POLICY)
    for name in FORM_HEADERS:
        del msg[name]
        if values.get(name):
            msg[name] = values[name]
            if name != "Subject":
                bad = [a.addr_spec for a in msg[name].addresses if not drafts.valid_address(a.addr_spec)]
                if bad or msg[name].defects:
                    raise ValueError(f"{name}: cannot read {values[name]!r} as addresses")
    if not values.get("To"):
        raise ValueError("To: is empty")
    msg.set_content(body.rstrip("\n") + "\n")  # plain text only: an HTML part would no longer match
    return bytes(msg)


def edit(term: Terminal, content: bytes) -> bytes | None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".eml.txt", delete=False, encoding="utf-8") as fh:
        fh.write(to_form(content))
        path = fh.name
    try:
        done = subprocess.run([*shlex.split(editor), path], check=False)
        if done.returncode != 0:
            term.write(f"the editor exited with {done.returncode}: draft unchanged")
            return None
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    finally:
        os.unlink(path)
    try:
        return from_form(content, text)
    except ValueError as exc:
        term.write(f"not changed: {exc}")
        return None


def replace_draft(conn: sqlite3.Connection, source: MailSource, task_id: int, content: bytes) -> None:
    """The user's edit becomes the draft: the old one leaves Drafts first, then the edit is
    stored and appended.  Were it stored first, a failed removal would leave the old draft in
    Drafts under the same Message-ID, and that old version is what a send would find."""
    row = send.draft_row(conn, task_id)
    was_appended = row["state"] == "appended"
    if was_appended:
        source.remove_draft(row["message_id"], row["task_tag"] or drafts.task_tag(row["key"]))
    conn.execute("UPDATE drafts SET content=?, edited=1, state=?, updated_at=? WHERE task_id=?",
                 (content, "pending" if was_appended else row["state"], utcnow_iso(), task_id))
    if was_appended:  # a crash before this line leaves it 'pending': the next scan appends it
        source.append_drafts([content])
        conn.execute("UPDATE drafts SET state='appended', updated_at=? WHERE task_id=?", (utcnow_iso(), task_id))


def _content(conn: sqlite3.Connection, source: MailSource, task_id: int) -> tuple[bytes, str]:
    row = send.draft_row(conn, task_id)
    if row["state"] == "sending":
        return row["content"], f"an earlier send was interrupted ({row['last_error'] or 'no reply recorded'})"
    current = send.current_content(conn, source, row)
    if current is None:
        return row["content"], "no longer in your Drafts folder: this is the assistant's version"
    edited = send.draft_row(conn, task_id)["edited"]
    return current, "edited (this is your version)" if edited else ""


def _draft_missing(conn: sqlite3.Connection, source: MailSource, settings: Settings, account_name: str) -> None:
    """Draft the open tasks that have a template but no draft yet (opened by the lifecycle, or a
    render that failed before), so that the review sees them too."""
    missing = drafts.undrafted_tasks(conn, account_name, retry_failed=True)
    if not missing:
        return
    env = drafts.environment(settings.drafts)
    with transaction(conn):
        drafts.prepare(conn, env, missing, account_name, settings.accounts[account_name])
    if settings.drafts.append_to_drafts:
        with transaction(conn):
            drafts.append_pending(conn, source, account_name)


def run(conn: sqlite3.Connection, source: MailSource, settings: Settings, account_name: str, now: datetime,
        term: Terminal | None = None) -> Summary:
    term = term or Terminal()
    summary = Summary()
    for warning in send.finish_submitted(conn, source, settings, account_name, now):
        term.write(f"warning: {warning}")
    _draft_missing(conn, source, settings, account_name)
    items = pending(conn, account_name)
    if not items:
        term.write("No drafts to review.")
        return summary
    for n, task in enumerate(items, 1):
        content, note = _content(conn, source, task.id)
        while True:
            show(term, task, content, note, f"[{n}/{len(items)}]", now)
            key = term.key(PROMPT)
            action = KEYS.get(key)
            if action == "quit":
                term.write(_tally(summary))
                return summary
            if action == "skip":
                summary.skipped.append(task.id)
            elif action == "approve":
                try:
                    result = send.send_task(conn, source, settings, account_name, task.id, now, content=content)
                except AssistantError as exc:
                    term.write(f"NOT SENT: {exc}")
                    summary.failed.append(task.id)
                else:
                    term.write(f"{result.outcome}: {', '.join(result.recipients) or result.message_id}")
                    for warning in result.warnings:
                        term.write(f"warning: {warning}")
                    summary.sent.append(task.id)
            elif action == "edit":
                new = edit(term, content)
                if new is not None:
                    try:
                        replace_draft(conn, source, task.id, new)
                    except AssistantError as exc:
                        term.write(f"kept only here, not in Drafts yet: {exc}")
                    content, note = new, "edited in review"
                    summary.edited.append(task.id)
                continue
            elif action == "dismiss":
                reason = term.line("Reason: ") or "dismissed in review"
                warning = send.dismiss(conn, source, task.id, reason, now)
                if warning:
                    term.write(f"warning: {warning}")
                summary.dismissed.append(task.id)
            elif action == "snooze":
                answer = term.line("Snooze until (2d, 3h, tomorrow 9am, monday): ")
                try:
                    from .schedule import parse_when

                    with transaction(conn):
                        tasks.snooze(conn, task.id, parse_when(answer, now, settings.schedule), now)
                except (ValueError, AssistantError) as exc:
                    term.write(f"not snoozed: {exc}")
                    continue
                summary.snoozed.append(task.id)
            else:
                term.write(f"unknown key {key!r}")
                continue
            break
    term.write(_tally(summary))
    return summary


def _tally(summary: Summary) -> str:
    return (f"sent {len(summary.sent)}, skipped {len(summary.skipped)}, dismissed {len(summary.dismissed)}, "
            f"snoozed {len(summary.snoozed)}, failed {len(summary.failed)}")
