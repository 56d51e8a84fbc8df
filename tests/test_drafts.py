"""Drafts: etiquette (who, threading, Bcc), safety against hostile mail, and never overwriting an edit."""

from __future__ import annotations

import json
import string

from hypothesis import given, settings as hsettings, strategies as st

from assistant import drafts
from assistant.config import AccountSettings
from assistant.mail import Person
from assistant.tasks import get_tasks
from draft_helpers import NOW, drafts_by_kind, maildir_account, parse, text
from sample_mail import introduction
from test_send import HOSTILE

REFERRAL = (
    b"From: Priya Natarajan <priya@northwind.example>\r\nTo: Jordan Rivera <jordan.rivera@example.com>\r\n"
    b"Subject: Someone you should talk to\r\nDate: Tue, 24 Nov 2026 10:15:00 +0000\r\n"
    b"Message-ID: <referral-1@test.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hi Jordan,\r\n\r\nYou should reach out to Dana Whitfield (dana@acme.example) at Acme Robotics, "
    b"she is hiring for her data platform team. Tell her I sent you.\r\n\r\nBest,\r\nPriya\r\n"
)


def test_introduction_outreach_is_a_reply_all_moving_the_referrer_to_bcc(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>")],
                                              signature="Jordan Rivera | data engineer")
    found = drafts_by_kind(store)
    outreach, thank = parse(found["reach_out"]["content"]), parse(found["thank"]["content"])
    assert str(outreach["From"]) == "Jordan Rivera <jordan.rivera@example.com>"
    assert [a.addr_spec for a in outreach["To"].addresses] == ["dana@acme.example"]
    assert [a.addr_spec for a in outreach["Bcc"].addresses] == ["priya@northwind.example"]
    assert outreach["In-Reply-To"] == "<intro@test.example>" and outreach["References"] == "<intro@test.example>"
    assert outreach["Subject"] == "Re: Intro: Jordan <> Dana (Acme Robotics)"
    assert "moving you to bcc" in text(outreach)
    assert text(outreach).rstrip().endswith("-- \nJordan Rivera | data engineer")
    # The thank-you is a reply to the referrer in the introduction's thread.
    assert [a.addr_spec for a in thank["To"].addresses] == ["priya@northwind.example"] and thank["Bcc"] is None
    assert thank["In-Reply-To"] == "<intro@test.example>" and thank["Subject"].startswith("Re: Intro")
    assert "introduction to Dana Whitfield" in text(thank)
    # Found again by Message-ID and by the task header.
    assert outreach["Message-ID"] == f"<{found['reach_out']['message_id']}>"
    assert outreach["X-Assistant-Task"] == found["reach_out"]["task_tag"]
    assert source.read_draft("nothing@x", found["reach_out"]["task_tag"]) is not None


def test_the_referrer_can_stay_in_cc_and_others_on_the_thread_are_kept(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction()], drafts='outreach_referrer = "cc"')
    conn = store.conn
    task = next(t for t in get_tasks(conn) if t.kind == "reach_out")
    # What the scan stores for reply-all: the original's recipients (a colleague was on Cc).
    conn.execute("UPDATE messages SET recipients=?", (json.dumps({"to": [["Jordan Rivera", "jordan.rivera@example.com"]],
                 "cc": [["Dana Whitfield", "dana@acme.example"], ["Sam Lee", "sam@acme.example"]]}),))
    env = drafts.environment(settings.drafts)
    msg = parse(drafts.render(conn, env, task, settings.accounts["main"]).content)
    assert [a.addr_spec for a in msg["To"].addresses] == ["dana@acme.example"]
    assert sorted(a.addr_spec for a in msg["Cc"].addresses) == ["priya@northwind.example", "sam@acme.example"]
    assert msg["Bcc"] is None and "moving you to bcc" not in text(msg)


def test_referral_outreach_is_a_new_message_that_names_the_referrer_first(tmp_path):
    settings, store, source = maildir_account(tmp_path, [REFERRAL])
    found = drafts_by_kind(store)
    msg = parse(found["reach_out"]["content"])
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["dana@acme.example"] and msg["Bcc"] is None
    first_line = [line for line in text(msg).splitlines() if line.strip()][1]
    assert first_line.startswith("Priya Natarajan suggested")


def test_hostile_names_and_subjects_from_mail_cannot_add_headers(tmp_path):
    settings, store, source = maildir_account(tmp_path, [HOSTILE])
    conn = store.conn
    # Even if detection kept them whole, the render is the last line of defence.
    conn.execute("UPDATE contacts SET name = name || ?", ("\r\nBcc: evil4@evil.example\nX-Evil: 1",))
    conn.execute("UPDATE leads SET company = ?", ("Acme\r\nBcc: evil5@evil.example",))
    env = drafts.environment(settings.drafts)
    for task in get_tasks(conn):
        draft = drafts.render(conn, env, task, settings.accounts["main"])
        msg = parse(draft.content)
        assert msg["X-Evil"] is None
        assert all("evil" not in r for r in draft.recipients)
        bcc = msg.get_all("Bcc") or []
        assert all(a.addr_spec == "priya@northwind.example" for h in bcc for a in h.addresses)
        assert "\n" not in str(msg["Subject"]) and "\n" not in str(msg["To"])


NAMES = st.text(alphabet=string.printable + "\u2028\u0085\x00\x1b\u00e9\u4e2d<>\",;:@", max_size=60)


@hsettings(max_examples=150, deadline=None)
@given(name=NAMES, subject=NAMES, header_value=NAMES)
def test_no_value_can_break_out_of_its_header(name, subject, header_value):
    parts = drafts.Parts(subject=drafts.clean_header(subject), body="hi\n",
                         headers=[("X-Note", drafts.clean_header(header_value))])
    to = drafts.Addressing([Person(name, "dana@acme.example")], bcc=[Person(name, "priya@northwind.example")])
    account = AccountSettings(name=name or "x", email="jordan@example.com", maildir={"path": "."})
    msg = parse(bytes(drafts.build_message(parts, to, account, "id@example.com", "tag")))
    assert sorted(msg.keys()) == sorted(["From", "To", "Bcc", "Subject", "Message-ID", "Date", "X-Assistant-Task",
                                         "X-Note", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"])
    assert [a.addr_spec for a in msg["To"].addresses] == ["dana@acme.example"]
    assert [a.addr_spec for a in msg["Bcc"].addresses] == ["priya@northwind.example"]


def test_addresses_are_validated(tmp_path):
    assert drafts.valid_address("dana@acme.example") == "dana@acme.example"
    for bad in ("dana@acme", "a b@x.example", "a@b.example\r\nBcc: c@d.example", "<a@b.example>", "a,b@c.example", ""):
        assert drafts.valid_address(bad) is None
    settings, store, source = maildir_account(tmp_path, [introduction()])
    conn = store.conn
    conn.execute("UPDATE contact_addresses SET email='not valid@acme.example' WHERE email='dana@acme.example'")
    task = next(t for t in get_tasks(conn) if t.kind == "reach_out")
    env = drafts.environment(settings.drafts)
    try:
        drafts.render(conn, env, task, settings.accounts["main"])
    except drafts.RenderError as exc:
        assert "no valid address" in str(exc)
    else:
        raise AssertionError("a draft to an invalid address was rendered")
    conn.execute("DELETE FROM drafts")
    assert drafts.prepare(conn, env, [t.id for t in get_tasks(conn)], "main", settings.accounts["main"]) == 1  # the thank only


def test_a_draft_the_user_edited_is_never_overwritten(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction()])
    drafts_dir = tmp_path / "mail" / ".Drafts" / "cur"
    [first, second] = sorted(drafts_dir.iterdir())
    first.write_bytes(first.read_bytes().replace(b"Best,", b"Cheers,"))
    before = {p.name: p.read_bytes() for p in drafts_dir.iterdir()}
    # The state is lost and everything is scanned again: the edited draft stays as it is.
    from assistant import send
    from assistant.scan import scan_account
    from assistant.store import Store
    from draft_helpers import NOW

    store = Store.open(tmp_path / "state-lost")
    scan_account(store, source, settings, "main", NOW)
    assert {p.name: p.read_bytes() for p in drafts_dir.iterdir()} == before
    # What the send reads is the user's version, and the draft is marked edited.
    edited_id = parse(first.read_bytes())["Message-ID"].strip("<>")
    row = store.conn.execute("SELECT d.*, t.key FROM drafts d JOIN tasks t ON t.id=d.task_id WHERE d.message_id=?",
                             (edited_id,)).fetchone()
    assert b"Cheers," in send.current_content(store.conn, source, row)
    assert send.draft_row(store.conn, row["task_id"])["edited"] == 1


def test_a_task_that_cannot_be_drafted_is_not_retried_by_every_scan(tmp_path):
    from assistant.scan import scan_account

    settings, store, source = maildir_account(tmp_path, [introduction()])
    # The lead loses its only address (say it was corrected by hand): the outreach cannot be drafted.
    task_id = store.conn.execute("SELECT id FROM tasks WHERE kind='reach_out'").fetchone()[0]
    store.conn.execute("DELETE FROM drafts WHERE task_id=?", (task_id,))
    store.conn.execute("UPDATE tasks SET to_email='not an address' WHERE id=?", (task_id,))
    store.conn.execute("DELETE FROM contact_addresses WHERE email='dana@acme.example'")

    scan_account(store, source, settings, "main", NOW)

    error = store.conn.execute("SELECT draft_error FROM tasks WHERE id=?", (task_id,)).fetchone()[0]
    assert "no valid address" in error
    assert task_id not in drafts.undrafted_tasks(store.conn, "main")  # the next scan leaves it be
    assert task_id in drafts.undrafted_tasks(store.conn, "main", retry_failed=True)  # review tries again
