"""The rule engine: the built-in playbook, conditions, user rules, overrides and validation."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import rulefile, rules
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.mail import Detection, Mail, Person, Request

RULES = Path(__file__).parent / "rules"
BERLIN = ZoneInfo("Europe/Berlin")
ME = "jordan.rivera@example.com"
TUESDAY = datetime(2026, 11, 24, 10, 15, tzinfo=BERLIN)
PRIYA = Person("Priya Natarajan", "priya@northwind.example")
DANA = Person("Dana Whitfield", "dana@acme.example")
TOM = Person("Tom Becker", "tom@acme.example")


def make_mail(sender: Person = PRIYA, subject: str = "Intro: Jordan <> Dana", text: str = "Jordan, meet Dana.",
              date: datetime | None = TUESDAY, message_id: str = "m1@test.example", folder: str = "INBOX",
              to: tuple[Person, ...] = (Person("Jordan Rivera", ME),), cc: tuple[Person, ...] = (DANA,),
              headers: dict[str, str] | None = None) -> Mail:
    return Mail(folder=folder, uid=1, message_id=message_id, sender=sender, to=to, cc=cc, reply_to=(), subject=subject,
                date=date, in_reply_to="", references=(), headers=headers or {}, text=text)


def intro(*contacts: Person, referrer: Person = PRIYA, kind: str = "introduction", confidence: float = 0.9) -> Detection:
    return Detection(kind=kind, referrer=referrer, contacts=list(contacts or (DANA,)), confidence=confidence,
                     company="Acme Robotics")


def make_settings(tmp_path: Path, rules_text: str | None = None, **schedule) -> tuple[Settings, Path]:
    config = tmp_path / "config.toml"
    config.write_text("")  # only its folder matters here
    if rules_text is not None:
        (tmp_path / "rules.toml").write_text(rules_text)
    settings = Settings(accounts={"main": {"name": "Jordan Rivera", "email": ME, "maildir": {"path": str(tmp_path)}}},
                        schedule={"timezone": "Europe/Berlin", **schedule})
    return settings, config


def plan(tmp_path, mail, detection, rules_text=None, now=TUESDAY, **schedule):
    settings, config = make_settings(tmp_path, rules_text, **schedule)
    return rules.plan(mail, detection, rules.load(settings, config), settings.schedule, now, frozenset([ME]))


# --- the built-in playbook ----------------------------------------------------------------------


def test_an_introduction_opens_reach_out_per_contact_and_a_thank(tmp_path):
    specs = plan(tmp_path, make_mail(), intro(DANA, TOM))
    by = {(s.kind, s.person.email): s for s in specs}
    assert set(by) == {("reach_out", DANA.email), ("reach_out", TOM.email), ("thank", PRIYA.email)}
    reach = by["reach_out", DANA.email]
    assert reach.due == datetime(2026, 11, 24, 17, 30, tzinfo=BERLIN)  # end of the working day
    assert reach.template == "reach_out_intro" and reach.about == DANA and reach.title == "Reach out to Dana Whitfield"
    thank = by["thank", PRIYA.email]
    assert thank.due == datetime(2026, 11, 24, 13, 15, tzinfo=BERLIN)  # within 3 working hours
    assert thank.about == DANA and thank.template == "thank"
    assert thank.title == "Thank Priya Natarajan for the introduction to Dana Whitfield and Tom Becker"


def test_mail_after_hours_is_due_by_midday_of_the_next_working_day(tmp_path):
    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=BERLIN)
    specs = plan(tmp_path, make_mail(date=friday_night), intro(kind="referral"), now=friday_night)
    reach = next(s for s in specs if s.kind == "reach_out")
    assert reach.due == datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN) and reach.template == "reach_out_referral"
    thank = next(s for s in specs if s.kind == "thank")
    assert thank.due == datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday 9:00 + 3 working hours


def test_due_times_count_from_when_the_mail_arrived_not_from_the_scan(tmp_path):
    later = datetime(2026, 11, 26, 15, 0, tzinfo=BERLIN)
    reach = plan(tmp_path, make_mail(), intro(), now=later)[0]
    assert reach.due == datetime(2026, 11, 24, 17, 30, tzinfo=BERLIN)  # overdue, as it truly is
    # A Date in the future (a wrong clock) counts from the scan instead.
    reach = plan(tmp_path, make_mail(date=datetime(2027, 1, 1, tzinfo=timezone.utc)), intro())[0]
    assert reach.due == datetime(2026, 11, 24, 17, 30, tzinfo=BERLIN)


def test_a_lead_opens_act_on_lead_and_a_thank(tmp_path):
    detection = Detection(kind="lead", referrer=PRIYA, company="Acme Robotics", role="Data Engineer", confidence=0.8)
    specs = plan(tmp_path, make_mail(cc=()), detection)
    assert [(s.kind, s.title) for s in specs] == [
        ("act_on_lead", "Act on the lead: Data Engineer at Acme Robotics"),
        ("thank", "Thank Priya Natarajan for the lead: Data Engineer at Acme Robotics"),
    ]
    assert specs[0].person == PRIYA and specs[0].about is None
    assert specs[0].due == datetime(2026, 11, 24, 17, 30, tzinfo=BERLIN)


def test_a_request_is_due_at_the_date_found_else_the_next_working_day(tmp_path):
    friday = datetime(2026, 12, 4, 12, 0, tzinfo=BERLIN)
    found = Detection(kind="request", referrer=PRIYA, requests=[Request("send your resume", friday)], confidence=0.7)
    spec, = plan(tmp_path, make_mail(cc=()), found)
    assert (spec.kind, spec.due, spec.person) == ("do_request", friday, PRIYA)
    assert spec.title == "Do what Priya Natarajan asked: send your resume"
    none = Detection(kind="request", referrer=PRIYA, requests=[Request("call me back")], confidence=0.7)
    spec, = plan(tmp_path, make_mail(cc=()), none)
    assert spec.due == datetime(2026, 11, 25, 17, 30, tzinfo=BERLIN)


def test_nothing_for_mail_that_is_none(tmp_path):
    assert plan(tmp_path, make_mail(), Detection()) == []


def test_a_contact_without_an_address_gets_a_task_but_no_draft(tmp_path):
    specs = plan(tmp_path, make_mail(), intro(Person("Camila Reyes", None), kind="referral"))
    reach = next(s for s in specs if s.kind == "reach_out")
    assert reach.person == Person("Camila Reyes", None) and reach.template is None


def test_the_number_of_hours_to_thank_is_a_setting(tmp_path):
    specs = plan(tmp_path, make_mail(), intro(), thank_within_hours=1)
    assert next(s for s in specs if s.kind == "thank").due == datetime(2026, 11, 24, 11, 15, tzinfo=BERLIN)


def test_every_builtin_rule_is_valid_and_names_a_known_task_kind():
    builtin = rules.parse_rules(rules.builtin_text(), "built-in", None)
    assert [r.name for r in builtin.rule] == ["introduction", "referral", "lead", "request"]
    templates = {t.template for r in builtin.rule for t in r.task}
    assert templates == {"reach_out_intro", "reach_out_referral", "thank", "act_on_lead", "reply_request"}


# --- conditions -------------------------------------------------------------------------------------


def fires(when: str, mail: Mail | None = None, detection: Detection | None = None) -> tuple[bool, list[str]]:
    parsed = rules.parse_rules(f'[[rule]]\nname = "r"\nwhen = {when}\n', "t.toml", None)
    return rules.match(parsed.rule[0].when, mail or make_mail(), detection or intro(), frozenset([ME]))


@pytest.mark.parametrize("when, expected", [
    ('{ kind = "introduction" }', True),
    ('{ kind = ["lead", "request"] }', False),
    ('{ min_confidence = 0.95 }', False),
    ('{ min_confidence = 0.9 }', True),
    ('{ sender = "priya@northwind.example" }', True),
    ('{ sender = "*@northwind.example" }', True),
    ('{ sender = "northwind.example" }', True),  # a domain
    ('{ sender = "@NORTHWIND.example" }', True),  # case does not matter in addresses
    ('{ sender = "example" }', True),  # a parent domain
    ('{ sender = "wind.example" }', False),  # not a suffix of a label
    ('{ sender = ["x.org", "*.example"] }', True),
    ('{ recipient = "acme.example" }', True),  # Dana is in Cc
    ('{ recipient = "other.example" }', False),
    ('{ from_me = false }', True),
    ('{ from_me = true }', False),
    ('{ folder = "INBOX" }', True),
    ('{ folder = "Archive*" }', False),
    ('{ subject = "^intro" }', True),  # case-insensitive by default
    ('{ subject = "^intro", case_sensitive = true }', False),
    ('{ body = "meet\\\\s+dana" }', True),
    ('{ header = { "List-Id" = "" } }', False),
    ('{ header = { "From" = "northwind" } }', True),
    ('{ all = [{ kind = "introduction" }, { sender = "northwind.example" }] }', True),
    ('{ all = [{ kind = "introduction" }, { sender = "acme.example" }] }', False),
    ('{ any = [{ kind = "lead" }, { sender = "northwind.example" }] }', True),
    ('{ any = [{ kind = "lead" }, { sender = "acme.example" }] }', False),
    ('{ not = { sender = "acme.example" } }', True),
    ('{ not = { sender = "northwind.example" } }', False),
    ('{ kind = "introduction", subject = "lunch" }', False),  # every condition must hold
    ('{}', True),
])
def test_conditions(when, expected):
    assert fires(when)[0] is expected


def test_a_header_condition_reads_the_headers_the_scan_keeps():
    mail = make_mail(headers={"list-id": "<jobs.example.com>"})
    assert fires('{ header = { "list-id" = "jobs\\\\.example" } }', mail)[0]
    assert fires('{ header = { "List-ID" = "" } }', mail)[0]


def test_the_reasons_say_why_a_rule_fires_or_not():
    ok, why = fires('{ kind = "introduction", sender = "*@northwind.example" }')
    assert ok and why == ["kind is introduction", "sender priya@northwind.example matches *@northwind.example"]
    ok, why = fires('{ kind = "lead" }')
    assert not ok and why == ["not: kind is introduction, not lead"]


# --- user rules: validation ---------------------------------------------------------------------------


def test_every_mistake_names_the_file_the_rule_and_the_field():
    with pytest.raises(ConfigError) as err:
        rules.parse_rules((RULES / "bad_fields.toml").read_text(), "bad_fields.toml", {"thank"})
    lines = str(err.value).splitlines()
    assert "bad_fields.toml: rule typo-field: when.subjet: unknown field" in lines
    assert any(line.startswith("bad_fields.toml: rule bad-regex: when.subject: bad regex '(senior|staff'") for line in lines)
    assert any(line.startswith("bad_fields.toml: rule bad-kind: when.kind: unknown kind 'intro'") for line in lines)
    assert any(line.startswith("bad_fields.toml: rule bad-kind: task#1.title: unknown field {referer}") for line in lines)
    assert any(line.startswith("bad_fields.toml: rule bad-kind: task#1.due: unknown due 'whenever'") for line in lines)
    assert len(lines) == 5


def test_an_unknown_template_is_an_error(tmp_path):
    settings, config = make_settings(tmp_path, (RULES / "unknown_template.toml").read_text())
    with pytest.raises(ConfigError) as err:
        rules.load(settings, config)
    assert str(err.value).startswith(f"{tmp_path / 'rules.toml'}: rule recruiters: task#1.template: "
                                     "unknown template 'no_such_template'")


def test_a_template_in_the_users_templates_dir_is_known(tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "no_such_template.j2").write_text("{% block subject %}x{% endblock %}")
    settings, config = make_settings(tmp_path, (RULES / "unknown_template.toml").read_text())
    settings.drafts.templates_dir = str(tmp_path / "tpl")
    assert [r.rule.name for r in rules.load(settings, config).rules][0] == "recruiters"


@pytest.mark.parametrize("text, problem", [
    ('[[rule]]\nname = "a"\n[[rule]]\nname = "a"\n', "rule a: name: used twice in this file"),
    ('disable = ["introductions"]\n', "disable: no built-in rule 'introductions'"),
    ('[[rule]]\nname = "has space"\n', "rule has space: name: String should match pattern"),
    ('[[rule]]\nname = "x"\nwhen = { header = { "X-Spam" = "yes" } }\n', "header 'X-Spam' is not read by the scan"),
    ('[[rule]]\nname = "x"\n[[rule.task]]\nkind = "k"\nfor = "everyone"\ntitle = "t"\ndue = "1h"\n', "task#1.for: Input should be"),
    ('[[rule]\n', "not valid TOML"),
    ('[[rules]]\nname = "x"\n', "rules: unknown field"),
])
def test_more_validation_errors(tmp_path, text, problem):
    settings, config = make_settings(tmp_path, text)
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace("[", r"\[")):
        rules.load(settings, config)


def test_a_rules_file_named_in_the_config_must_exist(tmp_path):
    settings, config = make_settings(tmp_path)
    settings.rules.file = "my-rules.toml"
    with pytest.raises(ConfigError, match="no such rules file"):
        rules.load(settings, config)
    (tmp_path / "my-rules.toml").write_text('disable = ["lead"]\n')
    ruleset = rules.load(settings, config)  # relative to the config file's folder
    assert ruleset.user_file == tmp_path / "my-rules.toml" and "lead" not in [r.rule.name for r in ruleset.rules]


# --- user rules: overriding, disabling, skipping, stopping ------------------------------------------------


def test_a_user_rule_replaces_the_builtin_of_the_same_name(tmp_path):
    settings, config = make_settings(tmp_path, (RULES / "override.toml").read_text())
    ruleset = rules.load(settings, config)
    assert [(r.rule.name, r.source == "built-in", r.overrides) for r in ruleset.rules] == [
        ("old-employer", False, False), ("introduction", False, True), ("referral", True, False), ("lead", True, False)]
    assert [r.rule.name for r in ruleset.disabled] == ["request"]
    specs = rules.plan(make_mail(), intro(), ruleset, settings.schedule, TUESDAY)
    assert [(s.kind, s.title, s.due, s.priority) for s in specs] == [
        ("reach_out", "Write to Dana Whitfield now", datetime(2026, 11, 24, 12, 15, tzinfo=BERLIN), 3)]
    # The replacement's own conditions apply: a weak detection opens nothing.
    assert rules.plan(make_mail(), intro(confidence=0.3), ruleset, settings.schedule, TUESDAY) == []
    # The disabled built-in does not fire.
    request = Detection(kind="request", referrer=PRIYA, requests=[Request("call")], confidence=0.9)
    assert rules.plan(make_mail(), request, ruleset, settings.schedule, TUESDAY) == []


def test_a_skip_rule_drops_the_message_before_the_builtins(tmp_path):
    settings, config = make_settings(tmp_path, (RULES / "override.toml").read_text())
    ruleset = rules.load(settings, config)
    old = make_mail(sender=Person("Boss", "boss@hr.oldco.example"))
    result = rules.evaluate(ruleset, old, intro(referrer=Person("Boss", "boss@hr.oldco.example")), settings.schedule, TUESDAY)
    assert result.skipped_by == "old-employer" and result.specs == []
    assert [f.matched for f in result.firings] == [True]


def test_stop_ends_the_rules_and_a_user_rule_adds_tasks(tmp_path):
    text = """
[[rule]]
name = "acme-extra"
when = { kind = "introduction", recipient = "acme.example" }
stop = true
  [[rule.task]]
  kind = "research"
  title = "Read up on {company} before writing to {contact}"
  due = "3h"
"""
    settings, config = make_settings(tmp_path, text)
    ruleset = rules.load(settings, config)
    result = rules.evaluate(ruleset, make_mail(), intro(), settings.schedule, TUESDAY)
    assert result.stopped_by == "acme-extra" and len(result.firings) == 1
    assert [(s.kind, s.title, s.template) for s in result.specs] == [
        ("research", "Read up on Acme Robotics before writing to Dana Whitfield", None)]
    assert result.specs[0].person == PRIYA  # for = "lead" (the default): whoever gave the lead


def test_when_two_rules_ask_for_the_same_task_the_first_wins(tmp_path):
    text = """
[[rule]]
name = "fast-thanks"
when = { kind = "introduction" }
  [[rule.task]]
  kind = "thank"
  for = "referrer"
  title = "Thank {referrer} right now"
  due = "1h"
"""
    specs = plan(tmp_path, make_mail(), intro(), text)
    thanks = [s for s in specs if s.kind == "thank"]
    assert len(thanks) == 1 and thanks[0].title == "Thank Priya Natarajan right now"


def test_builtin_rules_with_a_missing_template_still_open_tasks(tmp_path, monkeypatch):
    settings, config = make_settings(tmp_path)
    monkeypatch.setattr(rulefile, "available_templates", lambda drafts: {"thank"})
    ruleset = rules.load(settings, config)
    assert any("reach_out_intro" in w for w in ruleset.warnings)
    reach = rules.plan(make_mail(), intro(), ruleset, settings.schedule, TUESDAY)[0]
    assert reach.kind == "reach_out" and reach.template is None


def test_active_reloads_when_the_rules_file_changes(tmp_path):
    import os

    settings, config = make_settings(tmp_path, 'disable = ["lead"]\n')
    first = rules.active(settings, config)
    assert rules.active(settings, config) is first
    (tmp_path / "rules.toml").write_text('disable = ["lead", "request"]\n')
    os.utime(tmp_path / "rules.toml", ns=(1, 10**18))
    assert [r.rule.name for r in rules.active(settings, config).disabled] == ["lead", "request"]
