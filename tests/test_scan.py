"""The working core end to end through the CLI, against a real Dovecot and a real SQLite file."""

from __future__ import annotations

import json
from email import message_from_bytes, policy


from cli_run import run
from sample_mail import introduction, newsletter, personal


def scan(config, *args: str) -> dict:
    return json.loads(run(config, "scan", "--json", *args).stdout.splitlines()[-1])


def open_tasks(config) -> list[dict]:
    return [json.loads(line) for line in run(config, "tasks", "--json").stdout.splitlines()]


def drafts(mailbox) -> list:
    return [message_from_bytes(raw, policy=policy.default) for raw in mailbox.fetch_messages("Drafts").values()]


def test_introduction_opens_two_tasks_and_two_drafts(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", newsletter())
    uid = mailbox.append("INBOX", introduction())
    mailbox.append("INBOX", personal())
    before = mailbox.count("INBOX")

    report = scan(cfg)

    assert report["messages"] == 3 and report["skipped"] == 0
    assert report["detected"].get("introduction") == 1
    tasks = open_tasks(cfg)
    assert sorted(t["kind"] for t in tasks) == ["reach_out", "thank"]
    reach = next(t for t in tasks if t["kind"] == "reach_out")
    assert reach["contact"] == {"name": "Dana Whitfield", "email": "dana@acme.example"}
    assert reach["referrer"]["email"] == "priya@northwind.example"
    assert reach["status"] == "open" and reach["due"] and reach["message_id"]

    found = drafts(mailbox)
    assert len(found) == 2
    by_to = {d["To"].addresses[0].addr_spec: d for d in found}
    assert set(by_to) == {"dana@acme.example", "priya@northwind.example"}
    outreach = by_to["dana@acme.example"].get_content()
    assert "Dana" in outreach and "Priya" in outreach
    assert "Dana" in by_to["priya@northwind.example"].get_content()
    assert all(d["Subject"].startswith("Re: Intro") for d in found)
    assert all(b"\\Draft" in flags for flags in mailbox.fetch_flags("Drafts").values())
    # The user's mail is untouched: nothing marked read, nothing added or removed.
    assert b"\\Seen" not in mailbox.fetch_flags("INBOX")[uid]
    assert mailbox.count("INBOX") == before


def test_rescanning_never_duplicates_tasks_or_drafts(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", introduction())
    scan(cfg)

    again = scan(cfg)
    assert again["messages"] == 0 and again["tasks_opened"] == 0 and again["drafts_appended"] == 0
    assert again["folders_unchanged"] == 1
    assert mailbox.count("Drafts") == 2

    # Losing the state file reopens the tasks, but the drafts are already in Drafts.
    for path in cfg.state_dir.iterdir():
        path.unlink()
    fresh = scan(cfg)
    assert fresh["tasks_opened"] == 2 and fresh["drafts_appended"] == 0
    assert mailbox.count("Drafts") == 2


def test_only_new_mail_is_fetched_on_the_next_scan(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", personal(1))
    mailbox.append("INBOX", newsletter(1))
    assert scan(cfg)["messages"] == 2

    mailbox.append("INBOX", introduction(msgid="<later@test.example>"))
    report = scan(cfg)
    # One message read, none read again (a re-read would count as a duplicate).
    assert report["messages"] == 1 and report["duplicates"] == 0
    assert report["found"][0]["kind"] == "introduction"


def test_a_malformed_message_is_skipped_with_a_reason(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", personal())
    bad = mailbox.append("INBOX", b"\x00\xff\xfe not a header at all\r\n\r\n\xff body")
    mailbox.append("INBOX", introduction())

    done = run(cfg, "scan", "--json")

    report = json.loads(done.stdout)
    assert report["skipped"] == 1 and report["messages"] == 2
    assert report["detected"].get("introduction") == 1
    assert f"UID {bad}" in done.stderr and "cannot parse" in done.stderr


def test_the_same_message_in_two_folders_is_processed_once(mailbox, config_file):
    cfg = config_file(folders=["INBOX", "Archive"])
    message = introduction(msgid="<twice@test.example>")
    mailbox.append("INBOX", message)
    mailbox.append("Archive", message)

    report = scan(cfg)

    assert report["messages"] == 1 and report["duplicates"] == 1
    assert len(open_tasks(cfg)) == 2 and mailbox.count("Drafts") == 2


def test_a_new_uidvalidity_rereads_the_folder_without_duplicates(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", introduction())
    scan(cfg)
    # Pretend the server renumbered the folder: the saved UIDVALIDITY no longer matches.
    import sqlite3

    with sqlite3.connect(cfg.state_dir / "assistant.sqlite3") as conn:
        conn.execute("UPDATE folders SET uidvalidity = uidvalidity + 1, last_uid = 0")

    report = scan(cfg)

    assert report["duplicates"] == 1 and report["tasks_opened"] == 0
    assert mailbox.count("Drafts") == 2


def test_doctor_passes_on_a_good_setup(mailbox, config_file):
    done = run(config_file(), "doctor")
    assert "FAIL" not in done.stdout
    for check in ("credential", "reachable", "tls", "login", "folders", "drafts", "condstore", "idle"):
        assert check in done.stdout


def test_doctor_wrong_password(mailbox, config_file, monkeypatch):
    cfg = config_file()
    monkeypatch.setenv(cfg.env_var, "not-the-password")
    done = run(cfg, "doctor", check=False)
    assert done.returncode == 6
    assert "FAIL" in done.stdout and "login refused" in done.stdout
    assert "not-the-password" not in done.stdout + done.stderr


def test_doctor_untrusted_certificate(mailbox, config_file):
    cfg = config_file(ca_file="")  # the test CA is not among the system's
    done = run(cfg, "doctor", check=False)
    assert done.returncode == 5
    assert "certificate not trusted" in done.stdout


def test_scan_errors_have_distinct_exit_codes(mailbox, config_file, monkeypatch):
    cfg = config_file()
    monkeypatch.setenv(cfg.env_var, "wrong")
    assert run(cfg, "scan", check=False).returncode == 6
    refused = run(config_file(port=1), "scan", check=False)
    assert refused.returncode == 4 and "127.0.0.1:1" in refused.stderr
    assert run(config_file(ca_file=""), "scan", check=False).returncode == 5


def test_starttls_and_explicit_plain_connections(mailbox, config_file):
    mailbox.append("INBOX", introduction())
    assert scan(config_file(security="starttls"))["messages"] == 1
    assert scan(config_file(security="none"))["messages"] == 1


def test_the_password_never_reaches_output_or_logs(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", introduction())
    outputs = [run(cfg, "-vv", "scan"), run(cfg, "-vv", "scan", "--json"), run(cfg, "doctor", "--json"),
               run(cfg, "tasks", "--json")]
    for done in outputs:
        assert cfg.password not in done.stdout + done.stderr
    for path in cfg.state_dir.rglob("*"):
        if path.is_file():
            assert cfg.password.encode() not in path.read_bytes()


def test_password_command_is_a_credential_source(mailbox, config_file, tmp_path):
    script = tmp_path / "pass.sh"
    script.write_text(f"#!/bin/sh\necho '{mailbox.password}'\n")
    script.chmod(0o700)
    cfg = config_file(password_command=str(script), set_password=False)
    done = run(cfg, "doctor")
    assert "from password_command" in done.stdout


def test_no_credential_says_which_fallback_to_use(mailbox, config_file):
    cfg = config_file(set_password=False)
    done = run(cfg, "scan", check=False)
    assert done.returncode == 3
    assert "password_command" in done.stderr and cfg.env_var in done.stderr


def test_a_scan_of_many_batches_detects_in_a_worker_and_commits_in_order(mailbox, config_file):
    cfg = config_file(imap={"batch_size": 2})
    for n in range(3):
        mailbox.append("INBOX", personal(n))
    mailbox.append("INBOX", introduction(msgid="<late-intro@test.example>"))
    mailbox.append("INBOX", newsletter(1))
    mailbox.append("INBOX", introduction(msgid="<late-intro@test.example>"))  # the same message again
    odd = mailbox.append("INBOX", personal(4).replace(b'charset="utf-8"', b'charset="x-no-such"'))

    done = run(cfg, "-v", "scan", "--json")
    report = json.loads(done.stdout.splitlines()[-1])

    assert report["messages"] == 6 and report["duplicates"] == 1
    assert report["detected"] == {"none": 5, "introduction": 1}
    # What a worker found wrong in a text that came to nothing is still logged, with where it is.
    assert f"INBOX UID {odd}: unknown charset 'x-no-such'" in done.stderr
    assert sorted(t["kind"] for t in open_tasks(cfg)) == ["reach_out", "thank"]
    assert mailbox.count("Drafts") == 2
    import sqlite3

    with sqlite3.connect(cfg.state_dir / "assistant.sqlite3") as conn:
        assert conn.execute("SELECT last_uid FROM folders").fetchone()[0] == 7
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 6


def test_mail_crosses_to_the_detection_workers_whole():
    """Mail and its parts are pickled as constructor calls (mail._pickled_as_call): every field must survive."""
    import pickle
    from datetime import datetime, timezone

    from assistant.mail import Forwarded, Mail, Person, RawPart

    dana = Person("Dana Whitfield", "dana@acme.example")
    mail = Mail(folder="INBOX", uid=7, message_id="m@x", sender=dana, to=(Person("Jordan", None),), cc=(dana,),
                reply_to=(), subject="Intro", date=datetime(2026, 3, 4, 10, tzinfo=timezone.utc), in_reply_to="p@x",
                references=("o@x", "p@x"), headers={"list-id": "x"}, text="Hello", html=True,
                forwarded=(Forwarded(dana, (dana,), (), "Fwd", "inner"),), defects=("odd",))
    part = RawPart(b"SGk=", "html", "utf-8", "base64", b"From: a@b\r\n", True)
    assert pickle.loads(pickle.dumps((mail, part))) == (mail, part)
