"""The task and rule commands, end to end on a local Maildir (no server), with time injected.

Scans run through `scan.scan_account` with a fixed `now`; the commands run in-process
with `cli_tasks._now` replaced, so nothing here depends on the wall clock.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from typer.testing import CliRunner

from assistant import cli, cli_tasks
from assistant.config import load_settings
from assistant.errors import AssistantError
from assistant.scan import scan_account
from assistant.source import open_source
from assistant.store import Store

from sample_mail import ME, introduction, newsletter

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=ZoneInfo("America/New_York"))  # Tuesday; the samples are dated 10:15 UTC
RULES = Path(__file__).parent / "rules"
EXTRA_RULE = """
[[rule]]
name = "research"
when = { kind = "introduction" }
  [[rule.task]]
  kind = "research"
  title = "Read up on {contact} before writing"
  due = "2 working hours"
"""


class Box:
    """A Maildir, a config pointing at it, and a state folder, all in tmp_path."""

    def __init__(self, root: Path):
        self.root = root
        self.maildir = root / "mail"
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        self.config = root / "config.toml"
        self.config.write_text(f"""
[accounts.main]
name = "Jordan Rivera"
email = "{ME}"
[accounts.main.maildir]
path = "{self.maildir}"
[state]
dir = "{root / 'state'}"
[schedule]
timezone = "America/New_York"
[drafts]
append_to_drafts = false
""")
        self.rules = root / "rules.toml"
        self.count = 0

    def deliver(self, data: bytes) -> None:
        self.count += 1
        (self.maildir / "cur" / f"{self.count:06d}.test:2,").write_bytes(data)

    def scan(self, now: datetime = NOW) -> dict:
        settings, _ = load_settings(self.config)  # the user's rules.toml is found beside this file
        store = Store.open(self.root / "state")
        source = open_source("main", settings.accounts["main"])
        try:
            return scan_account(store, source, settings, "main", now).as_dict()
        finally:
            source.close()
            store.close()

    def run(self, *args: str, now: datetime = NOW, monkeypatch=None):
        monkeypatch.setattr(cli_tasks, "_now", lambda: now)
        result = CliRunner().invoke(cli.load_commands(), ["--config", str(self.config), *args], catch_exceptions=True)
        if isinstance(result.exception, AssistantError):
            return result.exception
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def tasks(self, monkeypatch, *args: str) -> list[dict]:
        out = self.run("tasks", "--json", *args, monkeypatch=monkeypatch)
        assert out.exit_code == 0, out.output
        return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture
def box(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # rich tables unwrapped
    return Box(tmp_path)


def test_tasks_json_has_the_fields_scripts_rely_on(box, monkeypatch):
    box.deliver(introduction())
    box.deliver(newsletter())
    assert box.scan()["tasks_opened"] == 2
    rows = box.tasks(monkeypatch)
    assert [r["kind"] for r in rows] == ["thank", "reach_out"]  # soonest due first
    thank, reach = rows
    assert thank["contact"] == {"name": "Dana Whitfield", "email": "dana@acme.example"}
    assert thank["referrer"] == {"name": "Priya Natarajan", "email": "priya@northwind.example"}
    assert thank["to"] == thank["referrer"] and reach["to"] == reach["contact"] == thank["contact"]
    assert thank["due"] == "2026-11-24T17:00:00+00:00"  # sent 05:15 in New York: 9:00 + 3 working hours
    for row in rows:
        assert {"id", "kind", "status", "due", "contact", "referrer", "message_id"} <= set(row)
        assert row["status"] == "open" and row["message_id"].endswith("test.example")


def test_done_snooze_dismiss_and_filters(box, monkeypatch):
    box.deliver(introduction())
    box.deliver(introduction("Tom Becker", "tom@acme.example"))
    box.scan()
    ids = {(r["kind"], r["contact"]["email"]): r["id"] for r in box.tasks(monkeypatch)}
    reach_dana, reach_tom = ids["reach_out", "dana@acme.example"], ids["reach_out", "tom@acme.example"]

    out = box.run("done", str(reach_dana), "--how", "sent", monkeypatch=monkeypatch)
    assert out.exit_code == 0 and f"{reach_dana} done (sent)" in out.stdout
    nudge, = box.tasks(monkeypatch, "--kind", "nudge")
    assert nudge["contact"]["email"] == "dana@acme.example" and nudge["due"] == "2026-12-01T16:00:00+00:00"

    assert box.run("snooze", str(reach_tom), "tomorrow", "9am", monkeypatch=monkeypatch).exit_code == 0
    assert reach_tom not in [r["id"] for r in box.tasks(monkeypatch)]
    snoozed, = box.tasks(monkeypatch, "--status", "snoozed")
    assert snoozed["snoozed_until"] == "2026-11-25T14:00:00+00:00"  # 9:00 New York
    # The next morning it is back by itself.
    later = box.run("tasks", "--json", now=NOW + timedelta(days=1), monkeypatch=monkeypatch)
    assert reach_tom in [json.loads(line)["id"] for line in later.stdout.splitlines()]

    thank_tom = ids["thank", "tom@acme.example"]
    assert box.run("dismiss", str(thank_tom), "--reason", "thanked in person", monkeypatch=monkeypatch).exit_code == 0
    gone, = [r for r in box.tasks(monkeypatch, "--all") if r["id"] == thank_tom]
    assert gone["status"] == "dismissed" and gone["dismissed_reason"] == "thanked in person"

    assert {r["kind"] for r in box.tasks(monkeypatch, "--contact", "Tom")} == {"reach_out"}
    bad = box.run("done", "999", monkeypatch=monkeypatch)
    assert isinstance(bad, AssistantError) and bad.exit_code == 9
    bad = box.run("snooze", str(reach_tom), "whenever", monkeypatch=monkeypatch)
    assert isinstance(bad, AssistantError) and bad.exit_code == 2 and "cannot read" in str(bad)


def test_the_table_shows_overdue_in_red_and_leads_show_each_step(box, monkeypatch):
    box.deliver(introduction())
    box.scan()
    monkeypatch.setenv("FORCE_COLOR", "1")
    table = box.run("tasks", now=NOW, monkeypatch=monkeypatch).stdout
    assert "Reach out to Dana Whitfield" in table and "Tue 24 Nov 12:00" in table  # in the user's zone
    assert "\x1b[31m" not in table  # due today, not overdue
    overdue = box.run("tasks", now=NOW + timedelta(days=3), monkeypatch=monkeypatch).stdout
    assert "\x1b[31mTue 24 Nov 12:00" in overdue  # red
    leads = box.run("leads", "--json", monkeypatch=monkeypatch)
    lead, = [json.loads(line) for line in leads.stdout.splitlines()]
    assert lead["referrer"]["email"] == "priya@northwind.example"
    assert lead["contacts"] == [{"name": "Dana Whitfield", "email": "dana@acme.example", "state": "new", "nudges": 0,
                                 "last_contacted": None}]
    assert sorted(s["kind"] for s in lead["steps"]) == ["reach_out", "thank"]
    text = box.run("leads", monkeypatch=monkeypatch).stdout
    assert "contact Dana Whitfield <dana@acme.example>: new" in text and "Reach out to Dana Whitfield" in text
    reach = next(s for s in lead["steps"] if s["kind"] == "reach_out")
    box.run("done", str(reach["id"]), "--how", "sent", monkeypatch=monkeypatch)
    text = box.run("leads", monkeypatch=monkeypatch).stdout
    assert "contact Dana Whitfield <dana@acme.example>: contacted, last written to Tue 24 Nov" in text
    assert "done (sent)" in text and "Nudge Dana Whitfield (1/2): no reply yet" in text


def test_ics_export(box, monkeypatch, tmp_path):
    box.deliver(introduction())
    box.scan()
    path = tmp_path / "followups.ics"
    assert box.run("tasks", "--ics", str(path), monkeypatch=monkeypatch).exit_code == 0
    text = path.read_bytes().decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 2 and "DTSTART:20261124T170000Z" in text
    assert "SUMMARY:Reach out to Dana Whitfield" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_rules_list_check_and_test(box, monkeypatch, tmp_path):
    shutil.copy(RULES / "override.toml", box.rules)
    listed = box.run("rules", "list", "--json", monkeypatch=monkeypatch)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["name"], r["state"], r["overrides"]) for r in rows] == [
        ("old-employer", "in effect", False), ("introduction", "in effect", True), ("referral", "in effect", False),
        ("lead", "in effect", False), ("request", "disabled", False)]
    assert rows[0]["source"] == str(box.rules) and rows[2]["source"] == "built-in"
    assert "replaces built-in" in box.run("rules", "list", monkeypatch=monkeypatch).stdout
    checked = box.run("rules", "check", monkeypatch=monkeypatch)
    assert checked.exit_code == 0 and "4 rule(s) in effect, 1 disabled" in checked.stdout

    eml = tmp_path / "intro.eml"
    eml.write_bytes(introduction())
    tested = box.run("rules", "test", str(eml), "--json", monkeypatch=monkeypatch)
    report = json.loads(tested.stdout)
    assert report["detection"]["kind"] == "introduction"
    assert [(r["name"], r["fired"]) for r in report["rules"]] == [
        ("old-employer", False), ("introduction", True), ("referral", False), ("lead", False)]
    task, = report["tasks"]
    assert task["kind"] == "reach_out" and task["title"] == "Write to Dana Whitfield now"
    assert task["due"] == "2026-11-24T11:00:00-05:00"  # 9:00 New York + 2 working hours
    human = box.run("rules", "test", str(eml), monkeypatch=monkeypatch).stdout
    assert "FIRES introduction" in human and "task reach_out -> Dana Whitfield" in human
    # Nothing was written.
    assert not (box.root / "state").exists() or box.tasks(monkeypatch) == []


def test_rules_check_names_file_rule_and_field(box, monkeypatch):
    shutil.copy(RULES / "bad_fields.toml", box.rules)
    err = box.run("rules", "check", monkeypatch=monkeypatch)
    assert isinstance(err, AssistantError) and err.exit_code == 2
    assert f"{box.rules}: rule bad-regex: when.subject: bad regex" in str(err)


def test_rescan_opens_only_what_the_new_rules_add(box, monkeypatch):
    box.deliver(introduction())
    box.scan()
    before = box.tasks(monkeypatch, "--all")
    box.run("done", str(before[0]["id"]), monkeypatch=monkeypatch)
    box.rules.write_text(EXTRA_RULE)

    out = box.run("rescan", "--since", "2026-11-01", "--json", monkeypatch=monkeypatch)
    report = json.loads(out.stdout)
    assert report["messages"] == 1 and report["tasks_opened"] == 1
    assert report["opened"][0]["kind"] == "research"
    after = box.tasks(monkeypatch, "--all")
    assert len(after) == 3 and {r["id"] for r in before} < {r["id"] for r in after}
    assert [r["status"] for r in after if r["id"] == before[0]["id"]] == ["done"]  # not reopened

    again = json.loads(box.run("rescan", "--since", "2026-11-01", "--json", monkeypatch=monkeypatch).stdout)
    assert again["tasks_opened"] == 0
    # Messages older than --since are left alone.
    box.rules.write_text(EXTRA_RULE.replace('"research"', '"research2"'))
    late = json.loads(box.run("rescan", "--since", "2026-11-25", "--json", monkeypatch=monkeypatch).stdout)
    assert late["messages"] == 0 and late["tasks_opened"] == 0


# --- the property: whatever the order of scans, rescans and rule changes, no task opens twice ----------

RULE_FILES = {"builtin": None, "extra": EXTRA_RULE, "override": (RULES / "override.toml").read_text()}
MESSAGES = [introduction("Dana Whitfield", "dana@acme.example", msgid=f"<p{i}@test.example>") for i in range(2)] + [
    introduction("Tom Becker", "Tom@Acme.example", msgid="<p2@test.example>"), newsletter()]
step = st.one_of(
    st.tuples(st.just("deliver"), st.integers(0, len(MESSAGES) - 1)),
    st.tuples(st.just("rules"), st.sampled_from(sorted(RULE_FILES))),
    st.tuples(st.sampled_from(["scan", "rescan"]), st.just(0)),
)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_no_sequence_of_scans_and_rescans_opens_a_task_twice(tmp_path_factory, monkeypatch, steps):
    root = tmp_path_factory.mktemp("prop")
    box = Box(root)
    seen: dict[int, tuple] = {}
    for action, arg in steps:
        if action == "deliver":
            box.deliver(MESSAGES[arg])
        elif action == "rules":
            if RULE_FILES[arg] is None:
                box.rules.unlink(missing_ok=True)
            else:
                box.rules.write_text(RULE_FILES[arg])
        elif action == "scan":
            box.scan()
        else:
            first = box.run("rescan", "--since", "2026-01-01", "--json", monkeypatch=monkeypatch)
            assert first.exit_code == 0
            again = json.loads(box.run("rescan", "--since", "2026-01-01", "--json", monkeypatch=monkeypatch).stdout)
            assert again["tasks_opened"] == 0  # a rescan right after a rescan finds nothing missing
        rows = box.tasks(monkeypatch, "--all")
        ident = [(r["message_id"], r["kind"], (r["to"]["email"] or r["to"]["name"]).lower() if r["to"] else "-") for r in rows]
        assert len(ident) == len(set(ident)), f"a task opened twice after {action}"
        for r in rows:  # a task, once open, stays the same task
            assert seen.setdefault(r["id"], (r["message_id"], r["kind"])) == (r["message_id"], r["kind"])
        assert set(seen) == {r["id"] for r in rows}


def test_rescan_reads_an_imap_server_again(mailbox, config_file):
    """The same rescan against a real Dovecot: headers first, text only for mail already seen."""
    import os
    import subprocess
    import sys

    cfg = config_file()

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "assistant", "--config", str(cfg), *args],
                              capture_output=True, text=True, timeout=120, env=os.environ.copy())
        assert done.returncode == 0, done.stderr
        return done.stdout

    mailbox.append("INBOX", introduction())
    mailbox.append("INBOX", newsletter())
    run("scan", "--json")
    (cfg.path.parent / "rules.toml").write_text(EXTRA_RULE)
    report = json.loads(run("rescan", "--since", "2026-11-01", "--json"))
    assert report["messages"] == 2 and report["tasks_opened"] == 1 and report["opened"][0]["kind"] == "research"
    assert json.loads(run("rescan", "--since", "2026-11-01", "--json"))["tasks_opened"] == 0
    kinds = sorted(json.loads(line)["kind"] for line in run("tasks", "--json", "--all").splitlines())
    assert kinds == ["reach_out", "research", "thank"]
