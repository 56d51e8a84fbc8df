"""Source: where mail comes from, behind one small interface.

The scan only knows `MailSource`; `imap.ImapSource` reads a server, `maildir.MaildirSource`
a local Maildir++ tree (the demo, and people who sync with mbsync or offlineimap).
Sources only read, except `append_drafts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from .config import AccountSettings
from .mail import RawMail


# Given a batch with headers only, the UIDs whose text the scan wants.
TextSelector = Callable[[list[RawMail]], set[int]]


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None  # None where the server has no CONDSTORE


class MailSource(Protocol):
    def folder_status(self, folder: str) -> FolderStatus:
        """UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, without opening the folder."""

    def fetch_after(self, folder: str, after_uid: int, batch_size: int,
                    select_text: TextSelector | None = None) -> Iterator[list[RawMail]]:
        """Every message with a UID above `after_uid`, in UID order, in batches; read-only.

        With `select_text`, the source first reads the headers of a batch, asks which
        messages' text is wanted, and reads only those; the others come with no parts."""

    def drafts_present(self, message_ids: Iterable[str]) -> set[str]:
        """Which of these Message-IDs (without brackets) are in the Drafts folder."""

    def drafts_folder(self) -> str:
        """Where drafts go: the IMAP folder's name, or the Maildir folder's path."""

    def sent_folder(self) -> str:
        """The folder of sent mail, as `folder_status` and `fetch_after` name it."""

    def append_drafts(self, contents: Sequence[bytes]) -> None:
        """Put these messages in the Drafts folder, flagged as drafts (in one command where
        the server can: IMAP MULTIAPPEND); raises MailboxError if they could not be."""

    def close(self) -> None: ...

    # --- sending (drafts.py, send.py): read back, remove and file the assistant's drafts ---
    # A draft is found by its Message-ID or by its X-Assistant-Task header (`tag`), so an
    # edit in a mail client that keeps either one is still recognised as the same draft.

    def read_draft(self, message_id: str, tag: str) -> bytes | None:
        """The newest draft with this Message-ID or tag, as it is in Drafts now; None if gone."""

    def remove_draft(self, message_id: str, tag: str) -> int:
        """Remove only the drafts with this Message-ID or tag from Drafts; how many."""

    def message_in_sent(self, message_id: str) -> bool:
        """Whether the Sent folder holds a message with this Message-ID."""

    def append_sent(self, content: bytes) -> None:
        """Put a copy of a sent message in the Sent folder, flagged as seen."""


def open_source(account_name: str, account: AccountSettings) -> MailSource:
    """The one place that picks a source for an account (and the seam tests replace)."""
    if account.maildir is not None:
        from .maildir import MaildirSource

        return MaildirSource(account.maildir)
    from .imap import ImapSource

    assert account.imap is not None  # the config allows exactly one of the two
    return ImapSource.connect(account_name, account.imap, fallback_username=account.email)
