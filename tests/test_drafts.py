"""Drafts: etiquette (who, threading, Bcc), safety against hostile mail, and never overwriting an edit."""

from __future__ import annotations

import json
import string

import pytest

from hypothesis import given, settings as hsettings, strategies as st

from assistant import compose, drafts
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


# --- the message as written: encoding, folding, line ends ----------------------------------

ACCOUNT = AccountSettings(name="Jordan Rivera", email="jordan@example.com", maildir={"path": "."})
DANA = Person("Dana", "dana@acme.example")


def build(parts: drafts.Parts, to: drafts.Addressing | None = None, message_id: str = "id@example.com") -> bytes:
    """The draft build_message writes, once checked: CRLF line ends only, no line over RFC 5322's
    998 characters, a head all ASCII."""
    content = drafts.build_message(parts, to or drafts.Addressing([DANA]), ACCOUNT, message_id, "tag")
    lines = content.split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line for line in lines)
    assert max(map(len, lines)) <= 998
    assert content.partition(b"\r\n\r\n")[0].isascii()
    return content


def decoded(content: bytes, name: str) -> str:
    """A header as RFC 2047 decodes it (Python's address parser adds a space between encoded-words)."""
    from email import message_from_bytes
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message_from_bytes(content)[name])))


TEXT = st.text(alphabet=string.printable + "\u00e9\u00eb\u4e2d\U0001f600\u0085\u2028\x00=?\"\\<>,;:@()", max_size=300)


@hsettings(max_examples=200, deadline=None)
@given(name=TEXT, subject=TEXT)
def test_names_and_subjects_are_encoded_and_decode_back_to_the_same_text(name, subject):
    content = build(drafts.Parts(subject=subject, body="hi\n"), drafts.Addressing([Person(name, "dana@acme.example")]))
    msg = parse(content)
    assert str(msg["Subject"]) == drafts.clean_header(subject, 300)
    [address] = msg["To"].addresses
    assert address.addr_spec == "dana@acme.example"
    name = drafts.clean_header(name)
    if name.isascii() and "=?" not in name:  # formataddr: quoted where it has specials
        assert address.display_name.split() == name.split()  # an unquoted name's spaces are one space
    else:  # encoded-words, which nothing but a decoder reads
        assert decoded(content, "To") == f"{name} <dana@acme.example>"


@hsettings(max_examples=200, deadline=None)
@given(value=st.text(alphabet=string.printable, max_size=80), name=st.sampled_from(["Subject", "X-" + "a" * 58]))
def test_short_plain_text_is_written_as_the_header_encoder_writes_it(value, name):
    from email.header import Header

    value = drafts.clean_header(value, 300)
    if "=?" not in value and len(name) + 2 + len(value) <= 78:
        expected = Header(value, maxlinelen=78, header_name=name).encode()
        assert compose.text_header(name, value) == f"{name}: {expected}\r\n"


def test_long_subjects_and_names_fold_and_every_kind_of_value_keeps_its_header():
    long_ascii = " ".join(["word"] * 60) + " " + "x" * 250  # a word too long to fold stays whole
    long_name = "\u00c9lodie " + "\u4e2d" * 150
    long_address = "x" * 64 + "@" + "d" * 63 + ".example"
    to = drafts.Addressing([Person(long_name, "dana@acme.example"), Person('Smith, J. "Jo"', "jo@acme.example")],
                           cc=[Person("n" * 200, long_address)])
    for subject in (long_ascii, "Re: " + "\u00e9" * 290, "=?utf-8?q?not_an_encoded_word?="):
        content = build(drafts.Parts(subject, "hi\n"), to)
        msg = parse(content)
        assert str(msg["Subject"]) == subject
        head = content.partition(b"\r\n\r\n")[0].decode()
        subject_lines = head.partition("Subject: ")[2].partition("\r\nMessage-ID")[0].split("\r\n")
        assert all(len(line) <= 78 for line in subject_lines if "x" * 250 not in line)
        assert decoded(content, "To") == f'{long_name} <dana@acme.example>, "Smith, J. \\"Jo\\"" <jo@acme.example>'
        assert [a.addr_spec for a in msg["Cc"].addresses] == [long_address]
        assert sorted(msg.keys()) == sorted(["From", "To", "Cc", "Subject", "Message-ID", "Date", "X-Assistant-Task",
                                             "MIME-Version", "Content-Type", "Content-Transfer-Encoding"])


def test_an_address_longer_than_smtp_allows_is_refused():
    assert drafts.valid_address("a@" + ".".join(["d" * 63] * 3) + ".example") is not None  # 202 characters
    assert drafts.valid_address("a@" + ".".join(["d" * 63] * 4) + ".example") is None  # 266


def test_the_body_is_sent_as_it_is_when_it_can_be_else_encoded():
    cases = {"Short ASCII lines.\n": "7bit", "Zo\u00eb, short lines.\n": "8bit",
             "A line longer than seventy-eight characters, " * 4 + "\n": "quoted-printable",
             "\u4e2d\u6587" * 60 + "\n": "base64"}
    for body, encoding in cases.items():
        msg = parse(build(drafts.Parts("s", body)))
        assert msg["Content-Transfer-Encoding"] == encoding
        assert text(msg) == body


def test_an_html_part_that_holds_the_boundary_is_encoded_and_both_parts_come_back():
    first = parse(build(drafts.Parts("s", "Hi\n", html="<p>Hi</p>")))
    boundary = first.get_boundary()
    assert boundary and first.get_body(("html",))["Content-Transfer-Encoding"] == "7bit"
    html = f"<p>Hi</p>\n--{boundary}\nContent-Type: text/plain\n\nforged\n--{boundary}--"
    msg = parse(build(drafts.Parts("s", "Hi\n", html=html)))
    assert msg.get_content_type() == "multipart/alternative" and msg.get_boundary() == boundary
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("html",))["Content-Transfer-Encoding"] == "quoted-printable"
    assert text(msg.get_body(("html",))) == html + "\n" and text(msg.get_body(("plain",))) == "Hi\n"


def test_message_ids_that_fail_the_check_are_left_out_of_the_threading():
    to = drafts.Addressing([DANA], in_reply_to="intro@test.example", references=[
        "a b@test.example", "first@test.example", "caf\u00e9@test.example", "intro@test.example"])
    msg = parse(build(drafts.Parts("s", "hi\n"), to))
    assert msg["In-Reply-To"] == "<intro@test.example>"
    assert msg["References"] == "<first@test.example> <intro@test.example>"
    to.in_reply_to = "<bad>"
    assert parse(build(drafts.Parts("s", "hi\n"), to))["In-Reply-To"] is None
    try:
        build(drafts.Parts("s", "hi\n"), to, message_id="bad id@example.com")
    except drafts.RenderError as exc:
        assert "Message-ID" in str(exc)
    else:
        raise AssertionError("a Message-ID with a space was written")


def test_a_template_reply_to_is_an_address_header_and_other_headers_are_text():
    headers = [("Reply-To", "Jos\u00e9 N\u00fa\u00f1ez <jose@acme.example>, Evil <not an address>"),
               ("X-Note", "caf\u00e9 " * 40)]
    msg = parse(build(drafts.Parts("s", "hi\n", headers)))
    [reply_to] = msg["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == ("Jos\u00e9 N\u00fa\u00f1ez", "jose@acme.example")
    assert str(msg["X-Note"]) == ("caf\u00e9 " * 40).strip()
    for name in ("Bcc", "X-Bad\nBcc", "X-Bad: x"):
        try:
            build(drafts.Parts("s", "hi\n", [(name, "evil@evil.example")]))
        except drafts.RenderError:
            continue
        raise AssertionError(f"a template header {name!r} was written")


def test_a_scans_drafts_are_what_rendering_each_task_alone_makes(tmp_path):
    import re

    settings, store, _ = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>"), REFERRAL])
    env = drafts.environment(settings.drafts)
    stored = {r["task_id"]: r for r in store.conn.execute("SELECT * FROM drafts")}
    tasks = [t for t in get_tasks(store.conn) if t.template]
    assert len(stored) == len(tasks) >= 3
    for task in tasks:
        draft = drafts.render(store.conn, env, task, settings.accounts["main"])
        row = stored[task.id]
        assert re.sub(rb"\r\nDate: [^\r]*", b"", draft.content) == re.sub(rb"\r\nDate: [^\r]*", b"", row["content"])
        assert (draft.message_id, ",".join(draft.recipients), draft.subject, draft.task_tag) == \
               (row["message_id"], row["recipients"], row["subject"], row["task_tag"])


def test_a_nudge_follows_the_outreach_sent_and_counts_the_nudges_before_it(tmp_path):
    from datetime import datetime, timedelta, timezone

    from assistant import followup

    settings, store, _ = maildir_account(tmp_path, [introduction(msgid="<intro@test.example>"), REFERRAL])
    conn, account = store.conn, settings.accounts["main"]
    reach = next(t for t in get_tasks(conn) if t.kind == "reach_out" and t.lead_kind == "introduction")
    outreach_id = conn.execute("SELECT message_id FROM drafts WHERE task_id=?", (reach.id,)).fetchone()[0]
    sent = datetime.now(timezone.utc) - timedelta(days=3, hours=1)
    conn.execute("UPDATE drafts SET state='sent', sent_at=? WHERE task_id=?", (sent.isoformat(), reach.id))
    first = followup.on_sent(conn, reach.id, sent, settings.schedule)
    second = followup.on_sent(conn, first, sent + timedelta(hours=1), settings.schedule)
    nudge = get_tasks(conn, [second])[0]
    lead = drafts.build_context(drafts.Facts(conn, get_tasks(conn, statuses=())), nudge, account)[0]["lead"]
    assert lead == drafts.build_context(drafts.Facts(conn, [nudge]), nudge, account)[0]["lead"]  # a batch reads alike
    assert lead["outreach"]["message_id"] == outreach_id and lead["days_since_outreach"] == 3
    assert lead["nudges_sent"] == 1
    assert [(e["task"], e["status"]) for e in lead["history"] if e["status"] == "done"] == [("reach_out", "done"),
                                                                                           ("nudge", "done")]
    assert drafts.prepare(conn, drafts.environment(settings.drafts), [second], "main", account) == 1
    msg = parse(conn.execute("SELECT content FROM drafts WHERE task_id=?", (second,)).fetchone()[0])
    assert msg["In-Reply-To"] == f"<{outreach_id}>" and msg["Subject"] == "Re: Intro: Jordan <> Dana (Acme Robotics)"
    assert "from 3 days ago" in text(msg)


def test_drafts_are_appended_in_chunks_and_a_failed_chunk_is_retried_without_duplicates(tmp_path, monkeypatch):
    from assistant.errors import MailboxError

    intros = [introduction(contact_name=f"Dana {name}", contact_email=f"dana.{name.lower()}@acme.example",
                           msgid=f"<intro-{name}@test.example>") for name in ("Ames", "Boyd", "Cole")]
    settings, store, source = maildir_account(tmp_path, intros, drafts="append_to_drafts = false")
    made = store.conn.execute("SELECT COUNT(*) FROM drafts WHERE state='pending'").fetchone()[0]
    assert made == 6  # a reach-out and a thank-you for each introduction
    monkeypatch.setattr(drafts, "APPEND_CHUNK", 4)
    calls = []
    real = source.append_drafts

    def failing_second_chunk(contents):
        calls.append(len(contents))
        if len(calls) == 2:
            raise MailboxError("connection lost")
        real(contents)

    monkeypatch.setattr(source, "append_drafts", failing_second_chunk)
    with pytest.raises(MailboxError):
        with store.transaction():
            drafts.append_pending(store.conn, source, "main")
    # the failed run's bookkeeping rolled back: the first chunk is in Drafts but still 'pending'
    assert calls == [4, 2]
    assert len(list(source.drafts_dir().glob("cur/*"))) == 4
    with store.transaction():
        assert drafts.append_pending(store.conn, source, "main") == 2  # only the two never appended
    assert calls == [4, 2, 2]
    assert len(list(source.drafts_dir().glob("cur/*"))) == 6
    assert store.conn.execute("SELECT COUNT(*) FROM drafts WHERE state='appended'").fetchone()[0] == 6
