"""`assistant review` driven through a pseudo-terminal, as a person at a plain terminal would,
against the real Dovecot and a real SMTP listener."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from email import message_from_bytes, policy


from sample_mail import introduction
from test_send import messages, run, tasks_by_kind

PROMPT = rb"\[q\]uit > "


class Terminal:
    """A child process on a pseudo-terminal: read what it shows, type keys."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.output = b""
        self.pos = 0

    def expect(self, pattern: bytes, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output[self.pos:])
            if found:
                start = self.pos
                self.pos += found.end()
                return re.search(pattern, self.output[start:])
            remaining = deadline - time.monotonic()
            ready = select.select([self.master], [], [], max(remaining, 0))[0] if remaining > 0 else []
            data = b""
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
            if not data:
                raise AssertionError(f"no {pattern!r} on the screen; it shows:\n{self.output.decode('utf-8', 'replace')}")
            self.output += data

    def screen_since(self, start: int) -> str:
        return self.output[start:self.pos].decode("utf-8", "replace")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> int:
        try:
            code = self.proc.wait(timeout=60)
        finally:
            os.close(self.master)
        return code


def review(cfg, **env) -> Terminal:
    return Terminal([sys.executable, "-m", "assistant", "--config", str(cfg), "review"], {**os.environ, **env})


def shown_task(term: Terminal) -> int:
    """The id of the task on the screen (the last 'task N:' line before the prompt)."""
    return int(re.findall(rb"task (\d+): ", term.output[: term.pos])[-1])


def test_approve_in_review_sends_one_message_files_it_and_closes_the_task(sending_account):
    cfg, mailbox, smtp = sending_account
    term = review(cfg)
    term.expect(PROMPT)
    screen = term.output.decode("utf-8", "replace")
    assert "[1/2]" in screen and "due:" in screen and "lead: introduction" in screen and "Subject: Re: Intro" in screen
    first = shown_task(term)
    term.type("a")
    term.expect(rb"sent: ")
    term.expect(PROMPT)
    second = shown_task(term)
    term.type("q")
    term.expect(rb"sent 1, skipped 0")
    assert term.close() == 0

    assert len(smtp.messages) == 1
    got = message_from_bytes(smtp.messages[0].data, policy=policy.default)
    tasks = {t["id"]: t for t in tasks_by_kind(cfg).values()}
    assert tasks[first]["status"] == "done" and tasks[first]["done_how"] == "sent"
    assert tasks[second]["status"] == "open"
    expected_to = (tasks[first]["to"] or tasks[first]["referrer"])["email"]
    assert got["To"].addresses[0].addr_spec == expected_to and got["Bcc"] is None
    assert got["Message-ID"] in {m["Message-ID"] for m in messages(mailbox, "Sent")}
    assert got["Message-ID"] not in {m["Message-ID"] for m in messages(mailbox, "Drafts")}
    assert mailbox.count("Drafts") == 1 and mailbox.count("Sent") == 1


def test_edit_dismiss_and_snooze_from_the_keyboard(sending_account, tmp_path):
    cfg, mailbox, smtp = sending_account
    mailbox.append("INBOX", introduction("Lee Park", "lee@beta.example", msgid="<intro-2@test.example>"))
    run(cfg, "scan")
    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('Hi ', 'Hello there ', 1))\n")
    term = review(cfg, EDITOR=f"{sys.executable} {editor}")

    term.expect(PROMPT)
    edited = shown_task(term)
    term.type("e")
    term.expect(rb"note: edited in review")
    term.expect(PROMPT)
    assert "Hello there " in term.output.decode("utf-8", "replace").split("edited in review")[-1]
    term.type("a")
    term.expect(rb"sent: ")
    term.expect(PROMPT)
    dismissed = shown_task(term)
    term.type("d")
    term.expect(rb"Reason: ")
    term.type("met them at a meetup already\n")
    term.expect(PROMPT)
    snoozed = shown_task(term)
    term.type("z")
    term.expect(rb"Snooze until")
    term.type("2d\n")
    term.expect(PROMPT)
    term.type("s")
    term.expect(rb"sent 1, skipped 1, dismissed 1, snoozed 1")
    assert term.close() == 0

    assert len(smtp.messages) == 1
    body = message_from_bytes(smtp.messages[0].data, policy=policy.default).get_content()
    assert body.startswith("Hello there ")
    tasks = {t["id"]: t for t in tasks_by_kind_all(cfg)}
    assert tasks[edited]["status"] == "done"
    assert tasks[dismissed]["status"] == "dismissed" and tasks[dismissed]["dismissed_reason"] == "met them at a meetup already"
    assert tasks[snoozed]["status"] == "snoozed"
    # The dismissed task's draft left Drafts; the snoozed and skipped ones stay.
    assert mailbox.count("Drafts") == 2


def tasks_by_kind_all(cfg) -> list[dict]:
    import json

    return [json.loads(line) for line in run(cfg, "tasks", "--all", "--json").stdout.splitlines()]


def test_without_a_terminal_review_reads_lines(tmp_path):
    from draft_helpers import maildir_account

    maildir_account(tmp_path, [introduction()])
    done = subprocess.run([sys.executable, "-m", "assistant", "--config", str(tmp_path / "config.toml"), "review"],
                          input="s\nq\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "[1/2]" in done.stdout and "sent 0, skipped 1" in done.stdout


def test_a_dropped_imap_session_is_reopened_once(mailbox, config_file):
    from assistant.config import load_settings
    from assistant.review import Reconnecting
    from assistant.source import open_source

    cfg = config_file()
    settings, _ = load_settings(cfg.path)
    opened = []

    def connect():
        opened.append(open_source("main", settings.accounts["main"]))
        return opened[-1]

    source = Reconnecting(connect)
    assert source.message_in_sent("nothing@example.com") is False
    opened[-1].client.shutdown()  # the server (or a NAT box) dropped the connection
    assert source.message_in_sent("nothing@example.com") is False
    assert len(opened) == 2
    source.close()
