"""Shared by the draft, template, send and review tests: a scanned local Maildir account."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

from assistant.config import load_settings
from assistant.maildir import MaildirSource
from assistant.scan import scan_account
from assistant.store import Store

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=timezone.utc)  # an hour after sample_mail.WHEN


def make_maildir(root: Path, messages) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(messages):
        path = root / "new" / f"{1700000000 + n}.M{n}P1.test"
        path.write_bytes(data)
        os.utime(path, ns=(time.time_ns(), 1_700_000_000_000_000_000 + n * 1_000_000))
    return root


def maildir_account(tmp_path: Path, messages, drafts: str = "", extra: str = "", signature: str = ""):
    """(settings, store, source) for a Maildir account holding `messages`, scanned once."""
    root = make_maildir(tmp_path / "mail", messages)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[accounts.main]\nname = "Jordan Rivera"\nemail = "jordan.rivera@example.com"\nsignature = "{signature}"\n'
        f'[accounts.main.maildir]\npath = "{root}"\n[state]\ndir = "{tmp_path / "state"}"\n'
        f"[drafts]\n{drafts}\n{extra}\n")
    settings, _ = load_settings(config)
    store = Store.open(tmp_path / "state")
    source = MaildirSource(settings.accounts["main"].maildir)
    scan_account(store, source, settings, "main", NOW)
    return settings, store, source


def parse(content: bytes):
    return message_from_bytes(content, policy=policy.default)


def text(msg) -> str:
    return msg.get_content().replace("\r\n", "\n")


def drafts_by_kind(store: Store) -> dict:
    rows = store.conn.execute("SELECT t.kind, d.* FROM drafts d JOIN tasks t ON t.id=d.task_id ORDER BY t.id")
    return {row["kind"]: row for row in rows}
