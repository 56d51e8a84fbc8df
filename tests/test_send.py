"""Sending, end to end: a real SMTP listener (aiosmtpd, TLS + AUTH) and the real Dovecot.

After a send: one message at the SMTP server with the right headers, the draft gone
from Drafts (only it), a copy in Sent, the task done.  A failure changes nothing but a
logged reason; a crash between the send and its bookkeeping never sends twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest

from assistant import send
from assistant.config import load_settings
from assistant.errors import SendError
from assistant.source import open_source
from assistant.store import Store
from cli_run import run
from sample_mail import introduction

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def tasks_by_kind(cfg) -> dict:
    return {t["kind"]: t for t in map(json.loads, run(cfg, "tasks", "--all", "--json").stdout.splitlines())}


def messages(mailbox, folder):
    return [message_from_bytes(raw, policy=policy.default) for raw in mailbox.fetch_messages(folder).values()]


def open_all(cfg):
    settings, _ = load_settings(cfg.path)
    store = Store.open(cfg.state_dir)
    source = open_source("main", settings.accounts["main"])
    return settings, store, source


def test_send_delivers_once_files_a_copy_removes_the_draft_and_closes_the_task(sending_account):
    cfg, mailbox, smtp = sending_account
    # A message the user marked \Deleted in Drafts must survive: only the draft's UID is expunged.
    kept = mailbox.append("Drafts", b"Subject: mine\r\nMessage-ID: <mine@x.example>\r\n\r\nkeep\r\n", flags=["\\Deleted"])
    task = tasks_by_kind(cfg)["reach_out"]

    done = run(cfg, "send", str(task["id"]), "--json")

    result = json.loads(done.stdout)
    assert result["outcome"] == "sent"
    assert len(smtp.messages) == 1
    got = smtp.messages[0]
    assert got.mail_from == "jordan.rivera@example.com"
    assert sorted(got.rcpt_tos) == ["dana@acme.example", "priya@northwind.example"]  # Bcc in the envelope only
    wire = message_from_bytes(got.data, policy=policy.default)
    assert wire["To"].addresses[0].addr_spec == "dana@acme.example"
    assert wire["Bcc"] is None and wire["X-Assistant-Task"] is None
    assert wire["Subject"] == "Re: Intro: Jordan <> Dana (Acme Robotics)"
    assert wire["In-Reply-To"] == "<intro-1@test.example>"
    assert wire["Message-ID"] == f"<{result['message_id']}>"
    assert "moving you to bcc" in wire.get_content()
    # The copy in Sent keeps the Bcc, as a mail client's does.
    sent = messages(mailbox, "Sent")
    assert len(sent) == 1 and sent[0]["Message-ID"] == wire["Message-ID"]
    assert "priya@northwind.example" in str(sent[0]["Bcc"])
    drafts = messages(mailbox, "Drafts")
    assert [d["Message-ID"] for d in drafts if d["Message-ID"] == wire["Message-ID"]] == []
    assert kept in mailbox.fetch_flags("Drafts")  # the user's \Deleted message is still there
    after = tasks_by_kind(cfg)
    assert after["reach_out"]["status"] == "done" and after["reach_out"]["done_how"] == "sent"
    assert after["thank"]["status"] == "open"

    again = json.loads(run(cfg, "send", str(task["id"]), "--json").stdout)
    assert again["outcome"] == "already sent" and len(smtp.messages) == 1
    assert mailbox.count("Sent") == 1


def test_a_send_failure_leaves_everything_as_it_was(sending_account):
    cfg, mailbox, smtp = sending_account
    task = tasks_by_kind(cfg)["thank"]
    drafts_before = mailbox.fetch_messages("Drafts")
    smtp.reject_data = "554 5.7.1 message refused"

    done = run(cfg, "send", str(task["id"]), check=False)

    assert done.returncode == 10
    assert "554" in done.stderr and f"{smtp.host}:{smtp.port}" in done.stderr
    assert smtp.messages == []
    assert mailbox.fetch_messages("Drafts") == drafts_before and mailbox.count("Sent") == 0
    assert tasks_by_kind(cfg)["thank"]["status"] == "open"
    store = Store.open(cfg.state_dir)
    row = store.conn.execute("SELECT state, last_error FROM drafts WHERE task_id=?", (task["id"],)).fetchone()
    assert row["state"] == "appended" and "554" in row["last_error"]
    # ... and the retry goes through, once.
    run(cfg, "send", str(task["id"]))
    assert len(smtp.messages) == 1 and mailbox.count("Sent") == 1


def test_a_connection_lost_after_data_is_never_sent_again_by_itself(sending_account):
    cfg, mailbox, smtp = sending_account
    task = tasks_by_kind(cfg)["thank"]
    smtp.drop_after_data = True  # the server took it, but the reply never came

    done = run(cfg, "send", str(task["id"]), check=False)

    assert done.returncode == 10 and "may have gone out" in done.stderr
    assert len(smtp.messages) == 1
    store = Store.open(cfg.state_dir)
    assert store.conn.execute("SELECT state FROM drafts WHERE task_id=?", (task["id"],)).fetchone()[0] == "sending"
    # Not in Sent, so a plain retry refuses rather than risk a second copy.
    retry = run(cfg, "send", str(task["id"]), check=False)
    assert retry.returncode == 10 and "--force" in retry.stderr and len(smtp.messages) == 1


def test_a_refused_login_and_an_untrusted_certificate_change_nothing(sending_account, monkeypatch):
    cfg, mailbox, smtp = sending_account
    task = tasks_by_kind(cfg)["thank"]
    monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", "wrong")
    done = run(cfg, "send", str(task["id"]), check=False)
    assert done.returncode == 6 and "SMTP login refused" in done.stderr
    monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", smtp.password)
    text = cfg.path.read_text().replace(f'ca_file = "{smtp.ca_file}"\n', "")
    cfg.path.write_text(text)
    done = run(cfg, "send", str(task["id"]), check=False)
    assert done.returncode == 5 and "certificate" in done.stderr
    assert smtp.messages == [] and tasks_by_kind(cfg)["thank"]["status"] == "open"
    assert mailbox.count("Sent") == 0 and mailbox.count("Drafts") == 2


def test_a_crash_after_the_server_took_it_never_sends_twice(sending_account, monkeypatch):
    cfg, mailbox, smtp = sending_account
    task_id = tasks_by_kind(cfg)["reach_out"]["id"]
    settings, store, source = open_all(cfg)

    def crash():
        raise KeyboardInterrupt  # the process dies between "250 OK" and the commit that records it

    monkeypatch.setattr(send, "_after_submit", crash)
    with pytest.raises(KeyboardInterrupt):
        send.send_task(store.conn, source, settings, "main", task_id, NOW)
    monkeypatch.undo()
    monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", smtp.password)
    monkeypatch.setenv(cfg.env_var, cfg.password)
    assert len(smtp.messages) == 1

    # Not in Sent: the assistant cannot know, so it refuses rather than risk a second copy.
    with pytest.raises(SendError, match="interrupted"):
        send.send_task(store.conn, source, settings, "main", task_id, NOW)
    done = run(cfg, "send", str(task_id), check=False)
    assert done.returncode == 10 and "--force" in done.stderr
    assert len(smtp.messages) == 1

    # The server filed its copy (as Gmail does): the retry only does the bookkeeping.
    mailbox.append("Sent", smtp.messages[0].data, flags=["\\Seen"])
    result = send.send_task(store.conn, source, settings, "main", task_id, NOW)
    assert result.outcome == "found in Sent" and len(smtp.messages) == 1
    assert mailbox.count("Sent") == 1  # not a second copy
    assert tasks_by_kind(cfg)["reach_out"]["status"] == "done"
    assert all(d["X-Assistant-Task"] is None or d["To"].addresses[0].addr_spec != "dana@acme.example"
               for d in messages(mailbox, "Drafts"))
    source.close()


def test_a_crash_during_the_bookkeeping_is_finished_without_sending_again(sending_account, monkeypatch):
    cfg, mailbox, smtp = sending_account
    task_id = tasks_by_kind(cfg)["thank"]["id"]
    settings, store, source = open_all(cfg)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(send, "finish", crash)
    with pytest.raises(KeyboardInterrupt):
        send.send_task(store.conn, source, settings, "main", task_id, NOW)
    monkeypatch.undo()
    monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", smtp.password)
    monkeypatch.setenv(cfg.env_var, cfg.password)
    assert tasks_by_kind(cfg)["thank"]["status"] == "done"  # recorded with the server's acceptance

    result = send.send_task(store.conn, source, settings, "main", task_id, NOW)
    assert result.outcome == "already sent" and len(smtp.messages) == 1
    assert mailbox.count("Sent") == 1 and mailbox.count("Drafts") == 1
    source.close()


def test_the_users_edit_in_drafts_is_what_goes_out(sending_account):
    cfg, mailbox, smtp = sending_account
    task = tasks_by_kind(cfg)["thank"]
    client = mailbox.connect()
    client.select_folder("Drafts")
    for uid, data in client.fetch(client.search("ALL"), ["BODY.PEEK[]"]).items():
        raw = data[b"BODY[]"]
        if b"priya@northwind.example" in raw.split(b"\r\n\r\n")[0].split(b"Bcc")[0] and b"To: Priya" in raw:
            # What a mail client does on save: a new version (same Message-ID) and the old one removed.
            edited = raw.replace(b"I really appreciate it.", b"Coffee is on me next time!")
            client.append("Drafts", edited, flags=[b"\\Draft"])
            client.add_flags([uid], [b"\\Deleted"])
            client.uid_expunge([uid])
    client.logout()

    run(cfg, "send", str(task["id"]))

    body = message_from_bytes(smtp.messages[0].data, policy=policy.default).get_content()
    assert "Coffee is on me next time!" in body and "I really appreciate it." not in body
    store = Store.open(cfg.state_dir)
    assert store.conn.execute("SELECT edited FROM drafts WHERE task_id=?", (task["id"],)).fetchone()[0] == 1


HOSTILE = (
    b"From: =?utf-8?q?Priya_Natarajan=0D=0ABcc=3A_evil1=40evil=2Eexample?= <priya@northwind.example>\r\n"
    b"To: Jordan Rivera <jordan.rivera@example.com>\r\n"
    b"Cc: =?utf-8?q?Dana_Whitfield=0D=0ABcc=3A_evil2=40evil=2Eexample?= <dana@acme.example>\r\n"
    b"Subject: =?utf-8?q?Intro=3A_Jordan_=3C=3E_Dana=0D=0ABcc=3A_evil3=40evil=2Eexample?=\r\n"
    b"Date: Tue, 24 Nov 2026 10:15:00 +0000\r\nMessage-ID: <hostile@test.example>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hi both,\r\n\r\nJordan, meet Dana Whitfield, who leads the data platform team at Acme Robotics. "
    b"Dana, meet Jordan Rivera, a data engineer I worked with for years and who is looking for their next "
    b"role.\r\n\r\nI think you two should talk - I'll let you take it from here.\r\n\r\nBest,\r\nPriya\r\n"
)


def test_a_hostile_display_name_in_an_introduction_cannot_inject_a_header(mailbox, config_file, smtp_server):  # noqa: F811
    cfg = config_file(imap={"save_sent": True}, extra=smtp_server.toml())
    mailbox.append("INBOX", HOSTILE)
    run(cfg, "scan")
    for task in tasks_by_kind(cfg).values():
        run(cfg, "send", str(task["id"]))

    assert len(smtp_server.messages) == 2
    for got in smtp_server.messages:
        assert not any("evil" in r for r in got.rcpt_tos)
        head = got.data.split(b"\r\n\r\n", 1)[0]
        names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]
        assert b"bcc" not in names and len(names) == len(set(names))  # no header added, none doubled
        wire = message_from_bytes(got.data, policy=policy.default)
        assert wire["Bcc"] is None
        assert [k for k in wire.keys() if k.lower() == "bcc"] == []
        assert wire["Subject"].count("\n") == 0 and wire["Subject"].startswith("Re: Intro")
    for sent in messages(mailbox, "Sent"):
        for value in sent.get_all("Bcc") or ():
            assert [a.addr_spec for a in value.addresses] == ["priya@northwind.example"]


def test_starttls_submission_and_the_imap_password_as_fallback(mailbox, config_file, starttls_server, monkeypatch):  # noqa: F811
    cfg = config_file(extra=starttls_server.toml().replace(f'username = "{starttls_server.username}"\n', ""))
    # No SMTP password anywhere: the IMAP chain's (the same user, as with most providers) is used.
    monkeypatch.delenv("ASSISTANT_SMTP_PASSWORD_MAIN")
    starttls_server.username = mailbox.username
    monkeypatch.setenv(cfg.env_var, cfg.password)
    starttls_server.password = cfg.password
    mailbox.append("INBOX", introduction())
    run(cfg, "scan")
    task = tasks_by_kind(cfg)["thank"]

    run(cfg, "send", str(task["id"]))

    assert len(starttls_server.messages) == 1
    assert mailbox.count("Sent") == 0  # save_sent is off: the server's job
    assert tasks_by_kind(cfg)["thank"]["done_how"] == "sent"


def test_auto_send_only_where_a_rule_said_so_and_doctor_can_check_smtp(sending_account):
    cfg, mailbox, smtp = sending_account
    settings, store, source = open_all(cfg)
    ids = tasks_by_kind(cfg)
    store.conn.execute("UPDATE tasks SET auto_send=1 WHERE id=?", (ids["thank"]["id"],))
    later = datetime(2030, 1, 1, tzinfo=timezone.utc)  # both tasks are due by then

    results = send.auto_send_due(store.conn, source, settings, "main", later)

    assert [r.task_id for r in results] == [ids["thank"]["id"]] and len(smtp.messages) == 1
    assert tasks_by_kind(cfg)["reach_out"]["status"] == "open"
    assert "login accepted" in send.check_smtp("main", settings.accounts["main"])
    source.close()


def test_a_maildir_account_sends_and_its_draft_file_goes(tmp_path, smtp_server):  # noqa: F811
    from draft_helpers import drafts_by_kind, maildir_account

    settings, store, source = maildir_account(tmp_path, [introduction()], extra=smtp_server.toml())
    thank = drafts_by_kind(store)["thank"]
    assert len(list((tmp_path / "mail" / ".Drafts" / "cur").iterdir())) == 2

    result = send.send_task(store.conn, source, settings, "main", thank["task_id"], NOW)

    assert result.outcome == "sent" and result.recipients == ["priya@northwind.example"]
    assert len(smtp_server.messages) == 1
    assert len(list((tmp_path / "mail" / ".Drafts" / "cur").iterdir())) == 1
    status = store.conn.execute("SELECT status, done_how FROM tasks WHERE id=?", (thank["task_id"],)).fetchone()
    assert tuple(status) == ("done", "sent")


def test_after_an_interrupted_send_only_force_sends_again(sending_account, monkeypatch):
    cfg, mailbox, smtp = sending_account
    task_id = tasks_by_kind(cfg)["thank"]["id"]
    settings, store, source = open_all(cfg)
    monkeypatch.setattr(send, "submit", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):  # killed in the middle of the SMTP session
        send.send_task(store.conn, source, settings, "main", task_id, NOW)
    source.close()
    monkeypatch.undo()
    monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", smtp.password)
    monkeypatch.setenv(cfg.env_var, cfg.password)
    assert run(cfg, "send", str(task_id), check=False).returncode == 10 and smtp.messages == []

    run(cfg, "send", str(task_id), "--force")

    assert len(smtp.messages) == 1 and tasks_by_kind(cfg)["thank"]["status"] == "done"
    assert mailbox.count("Sent") == 1 and mailbox.count("Drafts") == 1


def _delete_draft(mailbox, to: str) -> bytes:
    """Remove the draft addressed to `to` from Drafts, as a user would in their mail client; its bytes."""
    client = mailbox.connect()
    client.select_folder("Drafts")
    for uid, data in client.fetch(client.search("ALL"), ["BODY.PEEK[]"]).items():
        raw = data[b"BODY[]"]
        if message_from_bytes(raw, policy=policy.default)["To"].addresses[0].addr_spec == to:
            client.add_flags([uid], [b"\\Deleted"])
            client.uid_expunge([uid])
            client.logout()
            return raw
    raise AssertionError(f"no draft to {to}")


def test_a_draft_the_user_deleted_is_not_sent_and_one_they_sent_closes_the_task(sending_account):
    cfg, mailbox, smtp = sending_account
    ids = tasks_by_kind(cfg)
    _delete_draft(mailbox, "dana@acme.example")
    done = run(cfg, "send", str(ids["reach_out"]["id"]), check=False)
    assert done.returncode == 9 and "no longer in Drafts" in done.stderr
    assert smtp.messages == [] and tasks_by_kind(cfg)["reach_out"]["status"] == "open"

    # The thank-you went out from the mail client: it is in Sent, the draft is gone.
    raw = _delete_draft(mailbox, "priya@northwind.example")
    mailbox.append("Sent", raw, flags=["\\Seen"])
    result = json.loads(run(cfg, "send", str(ids["thank"]["id"]), "--json").stdout)
    assert result["outcome"] == "sent from your mail client" and smtp.messages == []
    assert tasks_by_kind(cfg)["thank"]["done_how"] == "sent"
