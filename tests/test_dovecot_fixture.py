"""The private Dovecot of tests/dovecot.py and the fixtures of conftest.py work."""

from __future__ import annotations

import imaplib
import ssl
import tomllib

import imapclient
import pytest

from conftest import append, count, fetch_flags

pytestmark = pytest.mark.server

MESSAGE = (
    b"From: Dana Smith <dana@acme.example>\r\n"
    b"To: Jordan Rivera <jordan.rivera@example.com>\r\n"
    b"Subject: Hello\r\n"
    b"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n"
    b"Message-ID: <hello-1@acme.example>\r\n"
    b"\r\n"
    b"Hi Jordan.\r\n"
)

WANTED_CAPABILITIES = {b"IDLE", b"CONDSTORE", b"SPECIAL-USE", b"UIDPLUS", b"MOVE"}


def test_tls_login_verifies_against_the_ca(mailbox):
    ctx = ssl.create_default_context(cafile=mailbox.ca_file)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    client = imapclient.IMAPClient(mailbox.host, port=mailbox.port_tls, ssl=True, ssl_context=ctx, timeout=10)
    try:
        client.login(mailbox.username, mailbox.password)
        assert client.folder_exists("INBOX")
    finally:
        client.logout()


def test_tls_without_the_ca_is_refused(mailbox):
    ctx = ssl.create_default_context()  # system CAs only: the test CA is unknown
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(mailbox.host, port=mailbox.port_tls, ssl=True, ssl_context=ctx, timeout=10)


def test_starttls_login(mailbox):
    client = imapclient.IMAPClient(mailbox.host, port=mailbox.port_plain, ssl=False, timeout=10)
    try:
        assert b"STARTTLS" in client.capabilities()
        client.starttls(ssl.create_default_context(cafile=mailbox.ca_file))
        client.login(mailbox.username, mailbox.password)
        assert client.folder_exists("INBOX")
    finally:
        client.logout()


def test_plain_login_without_tls_is_allowed(mailbox):
    imap = imaplib.IMAP4(mailbox.host, mailbox.port_plain, timeout=10)
    try:
        typ, _ = imap.login(mailbox.username, mailbox.password)
        assert typ == "OK"
    finally:
        imap.logout()


def test_capabilities(mailbox):
    client = mailbox.connect()
    try:
        caps = set(client.capabilities())
    finally:
        client.logout()
    assert WANTED_CAPABILITIES <= caps, WANTED_CAPABILITIES - caps


def test_special_use_folders(mailbox):
    client = mailbox.connect("starttls")
    try:
        folders = client.list_folders()
    finally:
        client.logout()
    by_name = {name: set(flags) for flags, _sep, name in folders}
    assert {"INBOX", "Drafts", "Sent", "Archive"} <= set(by_name)
    assert b"\\Drafts" in by_name["Drafts"]
    assert b"\\Sent" in by_name["Sent"]
    assert b"\\Archive" in by_name["Archive"]

    # RFC 6154's LIST ... RETURN (SPECIAL-USE), with the standard library only
    imap = imaplib.IMAP4(mailbox.host, mailbox.port_plain, timeout=10)
    try:
        imap.login(mailbox.username, mailbox.password)
        typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")
        assert typ == "OK"
        lines = imap._untagged_response(typ, data, "LIST")[1]
    finally:
        imap.logout()
    assert any(b"\\Drafts" in line and line.endswith(b'"Drafts"') or line.endswith(b" Drafts") for line in lines), lines
    assert any(b"\\Sent" in line for line in lines), lines


def test_special_use_folders_are_subscribed(mailbox):
    client = mailbox.connect()
    try:
        subscribed = {name for _flags, _sep, name in client.list_sub_folders()}
    finally:
        client.logout()
    assert {"Drafts", "Sent", "Archive"} <= subscribed


def test_append_then_examine_leaves_the_message_unseen(mailbox):
    uid = append(mailbox, "INBOX", MESSAGE)
    assert uid == 1
    client = mailbox.connect()
    try:
        info = client.select_folder("INBOX", readonly=True)  # EXAMINE
        assert info[b"EXISTS"] == 1
        assert b"READ-ONLY" in info
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])
        assert data[uid][b"BODY[]"] == MESSAGE
    finally:
        client.logout()
    assert fetch_flags(mailbox) == {uid: ()}
    assert count(mailbox, "INBOX") == 1
    assert count(mailbox, "Drafts") == 0


def test_append_with_flags_and_to_drafts(mailbox):
    uid = append(mailbox, "Drafts", MESSAGE, flags=[b"\\Draft", b"\\Seen"])
    assert uid is not None
    assert set(fetch_flags(mailbox, "Drafts")[uid]) == {b"\\Draft", b"\\Seen"}
    assert count(mailbox, "Drafts") == 1


def test_wrong_password_fails(mailbox):
    client = mailbox.connect(login=False)
    try:
        with pytest.raises(imapclient.exceptions.LoginError):
            client.login(mailbox.username, mailbox.password + "x")
        client.login(mailbox.username, mailbox.password)  # and no lock-out after it
    finally:
        client.logout()


def test_unknown_user_fails(dovecot):
    imap = imaplib.IMAP4(dovecot.host, dovecot.port_plain, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("nobody-at-all", "secret")
    finally:
        imap.logout()


def test_each_test_gets_its_own_user(dovecot, mailbox):
    other = dovecot.add_user(mailbox.username + "-other", "pw-other")
    assert other == "pw-other"
    assert mailbox.username in dovecot.users
    assert count(mailbox) == 0  # nothing left by other tests


def test_deliver_writes_straight_into_the_maildir(dovecot, mailbox):
    assert dovecot.deliver(mailbox.username, [MESSAGE, MESSAGE.replace(b"hello-1", b"hello-2")]) == 2
    dovecot.deliver(mailbox.username, [MESSAGE.replace(b"hello-1", b"hello-3")], folder="Archive", flags="S")
    assert count(mailbox) == 2
    assert fetch_flags(mailbox) == {1: (), 2: ()}
    assert fetch_flags(mailbox, "Archive") == {1: (b"\\Seen",)}
    assert (mailbox.maildir() / "cur").is_dir()
    assert mailbox.maildir("Archive") == mailbox.maildir() / "Archive"
    messages = mailbox.fetch_messages()
    assert messages[1].replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")
    assert b"hello-2" in messages[2]  # UIDs in delivery order

    many = [MESSAGE.replace(b"hello-1", f"n{k}".encode()) for k in range(30)]
    dovecot.deliver(mailbox.username, many, folder="Projects/2025")
    client = mailbox.connect()
    try:
        assert "Projects/2025" in {name for _f, _s, name in client.list_folders()}
        client.select_folder("Projects/2025", readonly=True)
        data = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    finally:
        client.logout()
    order = [data[uid][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].strip() for uid in sorted(data)]
    assert order == [f"Message-ID: <n{k}@acme.example>".encode() for k in range(30)]


def test_idle_sees_a_new_message(mailbox):
    client = mailbox.connect()
    try:
        client.select_folder("INBOX")
        client.idle()
        append(mailbox, "INBOX", MESSAGE)
        responses = client.idle_check(timeout=5)
        client.idle_done()
    finally:
        client.logout()
    assert any(r[1:2] == (b"EXISTS",) for r in responses), responses


def test_config_file(config_file, mailbox):
    cfg = config_file()
    data = tomllib.loads(cfg.path.read_text())
    imap = data["accounts"]["main"]["imap"]
    assert data["accounts"]["main"]["email"] == "jordan.rivera@example.com"
    assert imap["port"] == mailbox.port_tls and imap["security"] == "tls"
    assert imap["ca_file"] == mailbox.ca_file and imap["username"] == mailbox.username
    assert imap["folders"] == ["INBOX"] and imap["drafts_folder"] == ""
    assert data["state"]["dir"] == str(cfg.state_dir)
    assert cfg.password == mailbox.password
    import os

    assert os.environ["ASSISTANT_PASSWORD_MAIN"] == mailbox.password
    assert os.fspath(cfg) == str(cfg.path)

    plain = config_file(security="none", folders=["INBOX", "Archive"])
    imap = tomllib.loads(plain.path.read_text())["accounts"]["main"]["imap"]
    assert imap["port"] == mailbox.port_plain and imap["security"] == "none"
    assert imap["folders"] == ["INBOX", "Archive"]
    assert plain.path != cfg.path and plain.state_dir != cfg.state_dir


def test_keyring_is_the_fail_backend():
    import os

    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"
