"""Sending a draft: SMTP submission and the bookkeeping that makes a retry safe.

The Message-ID is the key.  A draft moves appended -> sending (claimed, committed
before the SMTP session) -> submitted (the server took it: the task is done, in the
same commit) -> sent (the copy is in Sent and the draft is gone from Drafts).

  * A failure before the server takes the message puts the draft back as it was, with
    the reason logged and kept in drafts.last_error: nothing else changes.
  * A crash between the server's "250 OK" and the next commit leaves "sending".  The
    retry looks in the Sent folder first: found, it only does the bookkeeping; not
    found, it refuses (it cannot know whether the message went out) until the user
    says `--force`.  It never sends twice on its own.
  * "submitted" means only the IMAP side is left; any later run finishes it.

What is sent is the draft as it is in the Drafts folder now (the user may have edited
it in their mail client), else the stored render when it never went to Drafts.  The
review passes the exact bytes it showed, so what is approved is what goes out.
"""

from __future__ import annotations

import logging
import smtplib
import sqlite3
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from . import credentials, followup, tasks
from .config import AccountSettings, Settings
from .drafts import TAG_HEADER, task_tag, valid_address
from .errors import AssistantError, AuthError, ConfigError, ConnectError, CredentialError, NotFoundError, SendError, SendUncertainError, TLSError
from .source import MailSource
from .store import transaction, utcnow_iso
from .tasks import iso
from .tls import hint_for, ssl_context

log = logging.getLogger(__name__)
SENDABLE = ("pending", "appended")


@dataclass
class SendResult:
    task_id: int
    message_id: str
    outcome: str  # sent | already sent | found in Sent | sent from your mail client
    recipients: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"task": self.task_id, "message_id": self.message_id, "outcome": self.outcome,
                "recipients": self.recipients, "warnings": self.warnings}


# --- SMTP ----------------------------------------------------------------------------------

def _hint(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {error}"
    return hint_for(exc)


def smtp_credential(account_name: str, account: AccountSettings) -> credentials.Credential:
    """The SMTP password from the same chain as IMAP; the IMAP one where SMTP has none of its own."""
    smtp = account.smtp
    imap_user = account.imap.username if account.imap and account.imap.username else account.email
    username = smtp.username or imap_user
    try:
        return credentials.find(account_name, username, smtp.password_command, protocol="smtp")
    except CredentialError:
        if account.imap is None or username != imap_user:
            raise
        # Most providers use one password for both: fall back to the IMAP chain.
        return credentials.find(account_name, username, account.imap.password_command, protocol="imap")


def open_smtp(account_name: str, account: AccountSettings) -> smtplib.SMTP:
    """A connected, logged-in SMTP session; every failure translated with host:port and a hint."""
    smtp = account.smtp
    if smtp is None:
        raise ConfigError(f"account {account_name!r} has no [accounts.{account_name}.smtp] section: sending needs one "
                          "(host, port, security; see config.example.toml)")
    where = f"{smtp.host}:{smtp.port}"
    cred = smtp_credential(account_name, account)
    context = ssl_context(smtp.ca_file)
    try:
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
            if smtp.security == "starttls":
                client.starttls(context=context)
        client.ehlo_or_helo_if_needed()
    except smtplib.SMTPNotSupportedError:
        raise TLSError(f"{where}: the server does not offer STARTTLS; use security = \"tls\" (port 465)") from None
    except ssl.SSLError as exc:
        raise TLSError(f"{where}: TLS failed: {_hint(exc)}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise ConnectError(f"{where}: cannot connect: {_hint(exc)}") from None
    try:
        if client.has_extn("auth"):
            client.login(cred.username, cred.password)
        elif smtp.security == "none":
            log.info("%s offers no AUTH: sending without logging in", where)
    except smtplib.SMTPAuthenticationError:
        _quit(client)
        raise AuthError(f"{where}: SMTP login refused for {cred.username!r} (password from {cred.source}); "
                        "check the username and password") from None
    except (OSError, smtplib.SMTPException) as exc:
        _quit(client)
        raise SendError(f"{where}: login failed: {_hint(exc)}") from None
    return client


def check_smtp(account_name: str, account: AccountSettings) -> str:
    """For `doctor`: connect, verify the certificate, log in, say how; raises the translated error."""
    client = open_smtp(account_name, account)
    _quit(client)
    smtp = account.smtp
    how = "certificate verified" if smtp.security != "none" else "plain connection (security = \"none\")"
    return f"{smtp.host}:{smtp.port} ({smtp.security}): {how}, login accepted"


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def submit(account_name: str, account: AccountSettings, sender: str, recipients: list[str], data: bytes) -> list[str]:
    """Hand the message to the SMTP server; the recipients it refused (the others got it)."""
    client = open_smtp(account_name, account)
    where = f"{account.smtp.host}:{account.smtp.port}"
    try:
        refused = client.sendmail(sender, recipients, data)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"{where}: every recipient refused: "
                        + "; ".join(f"{r}: {_hint(smtplib.SMTPResponseException(*v))}" for r, v in exc.recipients.items())) from None
    except smtplib.SMTPResponseException as exc:  # a refusal the server answered: nothing was taken
        raise SendError(f"{where}: sending failed: {_hint(exc)}") from None
    except OSError as exc:  # SMTPServerDisconnected, a timeout (smtplib's errors are OSErrors too)
        # The line dropped: perhaps before MAIL, perhaps after the server took the DATA.
        raise SendUncertainError(f"{where}: the connection failed during sending ({_hint(exc)}); "
                                 "the message may have gone out") from None
    finally:
        _quit(client)
    return sorted(refused)


# --- the message that goes out -------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    sender: str
    recipients: list[str]
    wire: bytes  # what the SMTP server gets: no Bcc, no X-Assistant-Task
    copy: bytes  # what Sent keeps: with Bcc


def outgoing(content: bytes, message_id: str, sender: str, now: datetime) -> Outgoing:
    msg = message_from_bytes(content, policy=SMTP_POLICY)
    # The Message-ID is the idempotency key, whatever a mail client did to the draft.
    del msg["Message-ID"]
    msg["Message-ID"] = f"<{message_id}>"
    del msg["Date"]
    msg["Date"] = format_datetime(now.astimezone())
    recipients: list[str] = []
    for name in ("To", "Cc", "Bcc"):
        for header in msg.get_all(name) or ():
            for address in getattr(header, "addresses", ()):
                if not valid_address(address.addr_spec):
                    raise SendError(f"{name}: {address.addr_spec!r} is not a valid address; fix the draft")
                if address.addr_spec.lower() not in (r.lower() for r in recipients):
                    recipients.append(address.addr_spec)
    if not recipients:
        raise SendError("the draft has no recipient (To, Cc or Bcc)")
    copy = bytes(msg)
    del msg["Bcc"]
    del msg[TAG_HEADER]
    return Outgoing(sender, recipients, bytes(msg), copy)


def _same(a: bytes, b: bytes) -> bool:
    norm = lambda data: data.replace(b"\r\n", b"\n").strip()  # noqa: E731  (servers may store LF)
    return norm(a) == norm(b)


# --- bookkeeping ------------------------------------------------------------------------------

def draft_row(conn: sqlite3.Connection, task_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT d.*, t.key FROM drafts d JOIN tasks t ON t.id=d.task_id WHERE d.task_id=?", (task_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"task {task_id} has no draft (see 'assistant tasks'; only tasks with a template have one)")
    return row


def _tag(row: sqlite3.Row) -> str:
    return row["task_tag"] or task_tag(row["key"])


def current_content(conn: sqlite3.Connection, source: MailSource, row: sqlite3.Row) -> bytes | None:
    """The draft as it is now: the Drafts folder's version once appended (marked edited when it
    differs from the render), else the stored render; None when it left Drafts."""
    if row["state"] == "pending":
        return row["content"]
    found = source.read_draft(row["message_id"], _tag(row))
    if found is not None and not _same(found, row["content"]) and not row["edited"]:
        conn.execute("UPDATE drafts SET edited=1, updated_at=? WHERE task_id=?", (utcnow_iso(), row["task_id"]))
    return found


def _task_sent(conn: sqlite3.Connection, settings: Settings, task_id: int, now: datetime) -> None:
    """The task is done ("sent"); the lifecycle opens the next nudge where one is due."""
    status = conn.execute("SELECT status FROM tasks WHERE id=?", (task_id,)).fetchone()[0]
    if status != "done":
        followup.on_sent(conn, task_id, now, settings.schedule)


def finish(conn: sqlite3.Connection, source: MailSource, settings: Settings, account: AccountSettings,
           task_id: int, now: datetime) -> list[str]:
    """After the server took it: the copy in Sent (save_sent), the draft out of Drafts, state sent.
    An IMAP failure leaves 'submitted' with a warning; the next run finishes it."""
    row = draft_row(conn, task_id)
    warnings = []
    try:
        save = bool(account.imap and account.imap.save_sent)
        if save and row["sent_content"] and not source.message_in_sent(row["message_id"]):
            source.append_sent(row["sent_content"])
        source.remove_draft(row["message_id"], _tag(row))
    except AssistantError as exc:
        warnings.append(f"task {task_id}: sent, but the mailbox is not tidied yet ({exc}); the next run retries")
        log.warning("%s", warnings[-1])
        return warnings
    conn.execute("UPDATE drafts SET state='sent', updated_at=? WHERE task_id=?", (utcnow_iso(), task_id))
    return warnings


def _submitted(conn: sqlite3.Connection, settings: Settings, task_id: int, now: datetime, copy: bytes | None) -> None:
    with transaction(conn):
        conn.execute("UPDATE drafts SET state='submitted', sent_at=?, sent_content=COALESCE(?, sent_content),"
                     " last_error=NULL, updated_at=? WHERE task_id=?", (now.isoformat(timespec="seconds"), copy,
                                                                        utcnow_iso(), task_id))
        _task_sent(conn, settings, task_id, now)


def _after_submit() -> None:
    """Called between the server's acceptance and the commit that records it (a test seam)."""


def send_task(conn: sqlite3.Connection, source: MailSource, settings: Settings, account_name: str, task_id: int,
              now: datetime, content: bytes | None = None, force: bool = False) -> SendResult:
    """Send the draft of `task_id` (the command is the approval); see the module doc."""
    if conn.in_transaction:
        raise RuntimeError("send_task must run outside a transaction: its states must be on disk before SMTP")
    account = settings.accounts[account_name]
    row = draft_row(conn, task_id)
    mid, state = row["message_id"], row["state"]
    if state == "sent":
        return SendResult(task_id, mid, "already sent")
    if state == "discarded":
        raise SendError(f"task {task_id}: its draft was discarded (the task was dismissed)")
    if state == "submitted":
        return SendResult(task_id, mid, "already sent", warnings=finish(conn, source, settings, account, task_id, now))
    if state == "sending":
        if source.message_in_sent(mid):
            _submitted(conn, settings, task_id, now, None)
            return SendResult(task_id, mid, "found in Sent", warnings=finish(conn, source, settings, account, task_id, now))
        if not force:
            raise SendError(f"task {task_id}: an earlier attempt was interrupted and the message is not in Sent, so "
                            "it may or may not have gone out; check with the recipient or your server, then "
                            f"'assistant send {task_id} --force' to send it again, or dismiss the task")
    status = conn.execute("SELECT status FROM tasks WHERE id=?", (task_id,)).fetchone()[0]
    if status not in ("open", "snoozed"):
        raise SendError(f"task {task_id} is {status}: nothing to send")
    if content is None:
        content = current_content(conn, source, row)
        if content is None:
            if source.message_in_sent(mid):  # the user sent it from their mail client
                _submitted(conn, settings, task_id, now, None)
                finish(conn, source, settings, account, task_id, now)
                return SendResult(task_id, mid, "sent from your mail client")
            raise NotFoundError(f"task {task_id}: the draft is no longer in Drafts (deleted in your mail client?); "
                                "nothing sent. 'assistant review' shows the assistant's version and can send that")
    out = outgoing(content, mid, account.email, now)
    claimed = conn.execute("UPDATE drafts SET state='sending', attempts=attempts+1, updated_at=? WHERE task_id=?"
                           " AND state=?", (utcnow_iso(), task_id, state)).rowcount
    if claimed != 1:
        raise SendError(f"task {task_id}: another run is sending this draft right now")
    back = state  # a forced retry that fails stays "sending": the first attempt is still unknown
    try:
        refused = submit(account_name, account, out.sender, out.recipients, out.wire)
    except SendUncertainError as exc:
        # Perhaps taken: it stays "sending", so a retry looks in Sent first and never sends twice.
        conn.execute("UPDATE drafts SET last_error=?, updated_at=? WHERE task_id=?", (str(exc)[:500], utcnow_iso(), task_id))
        log.warning("task %d: %s", task_id, exc)
        raise
    except Exception as exc:
        # Not taken by the server: everything as it was, and the reason kept and logged.
        conn.execute("UPDATE drafts SET state=?, last_error=?, updated_at=? WHERE task_id=?",
                     (back, str(exc)[:500], utcnow_iso(), task_id))
        log.warning("task %d: not sent: %s", task_id, exc)
        raise
    _after_submit()
    _submitted(conn, settings, task_id, now, out.copy)
    warnings = [f"refused by the server: {', '.join(refused)}"] if refused else []
    warnings += finish(conn, source, settings, account, task_id, now)
    log.info("task %d: sent %s to %s", task_id, mid, ", ".join(out.recipients))
    return SendResult(task_id, mid, "sent", [r for r in out.recipients if r not in refused], warnings)


def finish_submitted(conn: sqlite3.Connection, source: MailSource, settings: Settings, account_name: str,
                     now: datetime) -> list[str]:
    """Tidy up every draft the server took but whose copy or removal failed earlier."""
    warnings: list[str] = []
    for (task_id,) in conn.execute("SELECT task_id FROM drafts WHERE account=? AND state='submitted'",
                                   (account_name,)).fetchall():
        warnings += finish(conn, source, settings, settings.accounts[account_name], task_id, now)
    return warnings


def discard(conn: sqlite3.Connection, source: MailSource | None, task_id: int) -> None:
    """The task was dismissed: its draft leaves Drafts (only it) and is never sent."""
    row = conn.execute("SELECT * FROM drafts d JOIN tasks t ON t.id=d.task_id WHERE d.task_id=?", (task_id,)).fetchone()
    if row is None or row["state"] not in SENDABLE:
        return
    if source is not None and row["state"] == "appended":
        source.remove_draft(row["message_id"], _tag(row))
    conn.execute("UPDATE drafts SET state='discarded', updated_at=? WHERE task_id=?", (utcnow_iso(), task_id))


def dismiss(conn: sqlite3.Connection, source: MailSource | None, task_id: int, reason: str, now: datetime) -> str | None:
    """Dismiss a task, then take its draft out of Drafts; a warning where the draft stays there.
    The dismissal stands either way: a dismissed task's draft is never sent."""
    with transaction(conn):
        tasks.dismiss(conn, task_id, reason, now)
    try:
        discard(conn, source, task_id)
    except AssistantError as exc:
        return f"the draft stays in your Drafts folder (delete it there): {exc}"
    return None


# --- auto_send: only where a rule says so explicitly ---------------------------------------------

def auto_send_due(conn: sqlite3.Connection, source: MailSource, settings: Settings, account_name: str,
                  now: datetime) -> list[SendResult]:
    """Send the drafts of open, due tasks whose rule set `auto_send = true`; failures are logged."""
    results = []
    rows = conn.execute(
        "SELECT t.id FROM tasks t JOIN drafts d ON d.task_id=t.id WHERE t.account=? AND t.auto_send=1"
        " AND t.status='open' AND t.due <= ? AND d.state IN ('pending', 'appended') ORDER BY t.due",
        (account_name, iso(now))).fetchall()
    for (task_id,) in rows:
        try:
            results.append(send_task(conn, source, settings, account_name, task_id, now))
        except AssistantError as exc:
            log.warning("auto_send: task %d not sent: %s", task_id, exc)
    return results


def auto_send_rules(settings: Settings) -> list[str]:
    """Names of the rules with a task action that sets auto_send (for `doctor` to warn about)."""
    try:
        from .rules import active

        ruleset = active(settings)
    except (AssistantError, ImportError, ValueError, OSError):
        return []
    return [loaded.rule.name for loaded in ruleset.rules
            if any(getattr(action, "auto_send", False) for action in loaded.rule.task)]
