"""The Maildir source: the same interface as IMAP over a local Maildir++ tree."""

from __future__ import annotations

import pytest

from assistant.config import MaildirSettings
from assistant.errors import MailboxError
from assistant.maildir import MaildirSource
from draft_helpers import make_maildir
from sample_mail import introduction, personal


def test_messages_come_in_delivery_order_and_only_after_the_last_uid(tmp_path):
    source = MaildirSource(MaildirSettings(path=str(make_maildir(tmp_path / "m", [personal(1), personal(2), personal(3)]))))
    everything = [raw for batch in source.fetch_after("INBOX", 0, 2) for raw in batch]
    assert [b"(1)" in raw.header for raw in everything] == [True, False, False]
    assert len(everything) == 3 and everything[0].uid < everything[1].uid < everything[2].uid
    status = source.folder_status("INBOX")
    assert status.uidnext == everything[-1].uid + 1
    later = [raw for batch in source.fetch_after("INBOX", everything[1].uid, 10) for raw in batch]
    assert [raw.uid for raw in later] == [everything[2].uid]


def test_text_is_dropped_for_messages_the_scan_does_not_select(tmp_path):
    source = MaildirSource(MaildirSettings(path=str(make_maildir(tmp_path / "m", [personal(1), introduction()]))))
    seen = []

    def select(batch):
        seen.extend(raw.parts for raw in batch)
        return {batch[1].uid}

    batch = next(source.fetch_after("INBOX", 0, 10, select))
    assert seen == [(), ()]  # the selector sees headers only, as with IMAP
    assert batch[0].parts == () and batch[1].parts


def test_drafts_are_flagged_and_found_by_message_id(tmp_path):
    source = MaildirSource(MaildirSettings(path=str(make_maildir(tmp_path / "m", []))))
    source.append_drafts([b"From: a@b.example\r\nMessage-ID: <draft-1@b.example>\r\n\r\nhello\r\n"])
    files = list((tmp_path / "m" / ".Drafts" / "cur").iterdir())
    assert len(files) == 1 and files[0].name.endswith(":2,D")
    assert source.drafts_present(["draft-1@b.example", "other@b.example"]) == {"draft-1@b.example"}


def test_a_missing_folder_is_a_mailbox_error(tmp_path):
    source = MaildirSource(MaildirSettings(path=str(make_maildir(tmp_path / "m", []))))
    with pytest.raises(MailboxError, match="Archive"):
        source.folder_status("Archive")
    with pytest.raises(MailboxError, match="not a Maildir"):
        MaildirSource(MaildirSettings(path=str(tmp_path / "nothing")))


def test_a_message_renamed_by_a_sync_tool_while_scanning_is_still_read(tmp_path, monkeypatch):
    root = make_maildir(tmp_path / "m", [personal(1), personal(2)])
    source = MaildirSource(MaildirSettings(path=str(root)))
    listing = source._files("INBOX")
    # mbsync marks the first one seen between our listing and our read: new/X -> cur/X:2,S
    first = listing[0][1]
    first.rename(root / "cur" / (first.name + ":2,S"))
    monkeypatch.setattr(source, "_files", lambda folder: listing)
    batch = next(source.fetch_after("INBOX", 0, 10))
    assert [b"(1)" in raw.header for raw in batch] == [True, False]


def test_a_message_deleted_while_scanning_is_left_out(tmp_path, monkeypatch):
    root = make_maildir(tmp_path / "m", [personal(1), personal(2)])
    source = MaildirSource(MaildirSettings(path=str(root)))
    listing = source._files("INBOX")
    listing[0][1].unlink()
    monkeypatch.setattr(source, "_files", lambda folder: listing)
    assert [b"(2)" in raw.header for raw in next(source.fetch_after("INBOX", 0, 10))] == [True]
