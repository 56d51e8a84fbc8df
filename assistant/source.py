"""Source: where mail comes from, behind one small interface.

The scan only knows `MailSource`; `imap.ImapSource` reads a server, `maildir.MaildirSource`
a local Maildir++ tree (the demo, and people who sync with mbsync or offlineimap).
Sources only read, except `append_draft`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from .config import AccountSettings
from .mail import RawMail


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None  # None where the server has no CONDSTORE


class MailSource(Protocol):
    def folder_status(self, folder: str) -> FolderStatus:
        """UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, without opening the folder."""

    def fetch_after(self, folder: str, after_uid: int, batch_size: int) -> Iterator[list[RawMail]]:
        """Every message with a UID above `after_uid`, in UID order, in batches; read-only."""

    def drafts_present(self, message_ids: Iterable[str]) -> set[str]:
        """Which of these Message-IDs (without brackets) are in the Drafts folder."""

    def append_draft(self, content: bytes) -> None:
        """Put one message in the Drafts folder, flagged as a draft."""

    def close(self) -> None: ...


def open_source(account_name: str, account: AccountSettings) -> MailSource:
    """The one place that picks a source for an account (and the seam tests replace)."""
    if account.maildir is not None:
        from .maildir import MaildirSource

        return MaildirSource(account.maildir)
    from .imap import ImapSource

    assert account.imap is not None  # the config allows exactly one of the two
    return ImapSource.connect(account_name, account.imap, fallback_username=account.email)
