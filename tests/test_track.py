"""A contact's reply in a lead's thread closes their outreach and opens the report-back."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from draft_helpers import NOW, maildir_account
from sample_mail import _message, introduction
from assistant.scan import scan_account


def _deliver(root, name: str, data: bytes, offset: int) -> None:
    path = root / "new" / name
    path.write_bytes(data)
    os.utime(path, ns=(time.time_ns(), 1_800_000_000_000_000_000 + offset))  # after everything scanned so far


def _tasks(store) -> dict[str, str]:
    return {f"{r['kind']}": r["status"] for r in store.conn.execute("SELECT kind, status FROM tasks ORDER BY id")}


def test_a_reply_from_the_contact_moves_the_lead_on(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>")])
    assert _tasks(store) == {"reach_out": "open", "thank": "open"}

    reply = _message("Dana Whitfield <dana@acme.example>", "Jordan Rivera <jordan.rivera@example.com>",
                     "Re: Intro", "Lovely to meet you, Jordan! Happy to chat next week.\n",
                     msgid="<reply@test.example>", In_Reply_To="<intro@test.example>",
                     References="<intro@test.example>")
    _deliver(tmp_path / "mail", "reply.test", reply, 1)
    report = scan_account(store, source, settings, "main", NOW + timedelta(hours=2))

    statuses = _tasks(store)
    assert statuses["reach_out"] == "done" and statuses["report_back"] == "open"
    how = store.conn.execute("SELECT done_how FROM tasks WHERE kind='reach_out'").fetchone()[0]
    assert how == "by_reply"
    assert report.tasks_opened == 1  # the report-back, with its draft
    assert store.conn.execute("SELECT COUNT(*) FROM drafts d JOIN tasks t ON t.id=d.task_id"
                              " WHERE t.kind='report_back'").fetchone()[0] == 1


def test_a_reply_read_in_the_same_scan_as_the_introduction_moves_the_lead_on(tmp_path):
    """The batch looks up the threads its mail answers before it opens any lead: a lead opened
    by a message of the batch counts for the replies after it."""
    reply = _message("Dana Whitfield <dana@acme.example>", "Jordan Rivera <jordan.rivera@example.com>",
                     "Re: Intro", "Lovely to meet you, Jordan!\n", msgid="<reply@test.example>",
                     References="<older@test.example> <intro@test.example>")
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>"), reply])
    statuses = _tasks(store)
    assert statuses["reach_out"] == "done" and statuses["report_back"] == "open"


def test_a_reply_to_our_outreach_draft_moves_the_lead_on(tmp_path):
    """Dana answers the outreach itself (sent from the user's client), which names only the draft."""
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>")])
    outreach = store.conn.execute("SELECT d.message_id FROM drafts d JOIN tasks t ON t.id=d.task_id"
                                  " WHERE t.kind='reach_out'").fetchone()[0]
    reply = _message("Dana Whitfield <dana@acme.example>", "Jordan Rivera <jordan.rivera@example.com>",
                     "Re: Hello from Jordan", "Happy to chat!\n", msgid="<reply@test.example>",
                     In_Reply_To=f"<{outreach}>")
    _deliver(tmp_path / "mail", "reply.test", reply, 1)
    scan_account(store, source, settings, "main", NOW + timedelta(hours=2))
    statuses = _tasks(store)
    assert statuses["reach_out"] == "done" and statuses["report_back"] == "open"


def test_mail_in_the_thread_from_someone_else_changes_nothing(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>")])
    other = _message("Sam Ortiz <sam.ortiz@friends.example>", "Jordan Rivera <jordan.rivera@example.com>",
                     "Re: Intro", "Saw this thread, congrats!\n", msgid="<other@test.example>",
                     In_Reply_To="<intro@test.example>")
    _deliver(tmp_path / "mail", "other.test", other, 1)
    scan_account(store, source, settings, "main", NOW + timedelta(hours=2))
    assert _tasks(store) == {"reach_out": "open", "thank": "open"}


def _sent(root, name: str, data: bytes, offset: int) -> None:
    sent = root / ".Sent"
    for sub in ("cur", "new", "tmp"):
        (sent / sub).mkdir(parents=True, exist_ok=True)
    _deliver(sent, name, data, offset)


def _kinds(store) -> dict[str, tuple[str, str | None]]:
    return {r[0]: (r[1], r[2]) for r in store.conn.execute("SELECT kind, status, done_how FROM tasks ORDER BY id")}


def test_outreach_the_user_sent_from_their_own_client_closes_the_task_and_schedules_a_nudge(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>")])
    # Jordan wrote to Dana by hand (not our draft), after the introduction arrived.
    mine = _message("Jordan Rivera <jordan.rivera@example.com>", "Dana Whitfield <dana@acme.example>",
                    "Great to meet you", "Hi Dana, Priya tells me you lead data at Acme...\n", msgid="<mine@example.com>")
    _sent(tmp_path / "mail", "mine.test", mine, 1)
    # ... and sent the assistant's thank-you draft as it was, from the mail client.
    thank_id = store.conn.execute("SELECT d.message_id FROM drafts d JOIN tasks t ON t.id=d.task_id"
                                  " WHERE t.kind='thank'").fetchone()[0]
    thanks = _message("Jordan Rivera <jordan.rivera@example.com>", "Priya Natarajan <priya@northwind.example>",
                      "Re: Intro", "Thank you!\n", msgid=f"<{thank_id}>")
    _sent(tmp_path / "mail", "thanks.test", thanks, 2)

    scan_account(store, source, settings, "main", NOW + timedelta(hours=2))

    kinds = _kinds(store)
    assert kinds["reach_out"] == ("done", "sent") and kinds["thank"] == ("done", "sent")
    assert kinds["nudge"] == ("open", None)
    assert store.conn.execute("SELECT COUNT(*) FROM drafts d JOIN tasks t ON t.id=d.task_id"
                              " WHERE t.kind='nudge'").fetchone()[0] == 1


def test_mail_sent_before_the_introduction_arrived_closes_nothing(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>")])
    old = _message("Jordan Rivera <jordan.rivera@example.com>", "Dana Whitfield <dana@acme.example>",
                   "Years ago", "Hi Dana\n", msgid="<old@example.com>")
    old = old.replace(b"Date: Tue, 24 Nov 2026", b"Date: Tue, 24 Nov 2020")
    _sent(tmp_path / "mail", "old.test", old, 1)
    scan_account(store, source, settings, "main", NOW + timedelta(hours=2))
    assert _kinds(store)["reach_out"] == ("open", None)


def test_the_thread_lookup_searches_by_message_id(tmp_path):
    """A first scan asks it once a batch, with every Message-ID the batch's mail answers."""
    from assistant.store import Store
    from assistant.track import THREAD_QUERIES

    store = Store.open(tmp_path / "state")
    for query in THREAD_QUERIES:
        plan = " ".join(row[-1] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {query}", ("main", '["a@x"]')))
        assert "(message_id=?)" in plan or "(account=? AND message_id=?)" in plan, plan
