"""Daemon: scan at start, then whenever the server says new mail arrived (IMAP IDLE).

One connection waits in IDLE on the first configured folder; each scan opens its own,
so the watcher never shares state with the pipeline.  The watcher selects the folder
*before* each scan: mail that arrives during the scan is then reported as soon as
IDLE starts, so nothing waits for the next arrival.  IDLE is renewed before the 29
minutes after which RFC 2177 lets a server drop it.  A lost connection is retried with
a growing pause; a server without IDLE, and a Maildir, are polled instead.  Errors
that waiting cannot fix (login refused, TLS, config, credentials) stop the daemon.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from imapclient.exceptions import IMAPClientError

from . import credentials, imap
from .config import AccountSettings
from .errors import ConnectError, LockedError, MailboxError

log = logging.getLogger(__name__)
IDLE_RENEW_SECONDS = 25 * 60
MAX_BACKOFF_SECONDS = 300

Waiter = Callable[[threading.Event], None]


@contextmanager
def _watcher(account_name: str, account: AccountSettings, poll_seconds: float) -> Iterator[Waiter]:
    """A function that returns when the first folder may have new mail since this began."""
    settings = account.imap
    if settings is None:
        yield lambda stop: stop.wait(poll_seconds)
        return
    cred = credentials.find(account_name, settings.username or account.email, settings.password_command)
    client = imap.open_client(settings)
    try:
        imap.login(client, settings, cred)
        if b"IDLE" not in client.capabilities():
            yield lambda stop: stop.wait(poll_seconds)
            return
        client.select_folder(settings.folders[0], readonly=True)

        def wait(stop: threading.Event) -> None:
            client.idle()
            started = time.monotonic()
            try:
                while not stop.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
                    # Responses look like (3, b"EXISTS"); one second at a time so `stop` is seen.
                    if any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in client.idle_check(timeout=1)):
                        return
            finally:
                client.idle_done()

        yield wait
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            pass


def watch(account_name: str, account: AccountSettings, scan: Callable[[], object], stop: threading.Event,
          poll_seconds: float = 300.0) -> None:
    """Scan now and after each sign of new mail, until `stop` is set."""
    backoff = 5.0
    while not stop.is_set():
        try:
            with _watcher(account_name, account, poll_seconds) as wait_for_mail:
                scan()
                wait_for_mail(stop)
            backoff = 5.0
        except (ConnectError, MailboxError, LockedError, IMAPClientError, OSError) as exc:
            # LockedError: a cron scan or a rescan is running; its work is ours too.
            log.warning("%s: %s; trying again in %.0f s", account_name, exc, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
