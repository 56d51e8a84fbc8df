"""Templates: one a task kind, checked against sample data, overridable, sandboxed, strict."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assistant import drafts
from assistant.cli_drafts import check_templates
from assistant.config import DraftsSettings
from assistant.tasks import get_tasks
from draft_helpers import maildir_account, parse, text
from sample_mail import introduction

KINDS = {"reach_out_intro", "reach_out_referral", "act_on_lead", "thank", "report_back", "nudge", "reply_request"}


def cli(*args, config=None, check=True):
    env = {**os.environ, "ASSISTANT_CONFIG": str(config or "/nonexistent/assistant.toml")}
    done = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, timeout=60, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def user_templates(tmp_path, **files):
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, body in files.items():
        (folder / f"{name}.j2").write_text(body)
    config = tmp_path / "c.toml"
    config.write_text(f'[accounts.main]\nname = "Jordan Rivera"\nemail = "jordan@example.com"\n'
                      f'[accounts.main.maildir]\npath = "{tmp_path}"\n[state]\ndir = "{tmp_path / "state"}"\n'
                      f'[drafts]\ntemplates_dir = "{folder}"\n')
    return config


def test_every_shipped_template_renders_against_the_sample_data():
    results = check_templates(drafts.environment(DraftsSettings()))
    assert KINDS <= {r["template"] for r in results}
    assert [r for r in results if not r["ok"]] == []
    done = cli("templates", "check")
    assert all(f"ok     {kind}" in done.stdout for kind in KINDS)


def test_check_reports_a_missing_variable_and_a_syntax_error_with_file_and_line(tmp_path):
    config = user_templates(
        tmp_path,
        thank="{% block subject %}Thanks{% endblock %}\n{% block body %}\nHi {{ referrer.first_name }},\n"
              "{{ referer.first_name }} typo here\n{% endblock %}\n",
        broken="{% block subject %}x{% endblock %}\n{% block body %}\n{% if %}\n{% endblock %}\n",
    )
    done = cli("templates", "check", config=config, check=False)
    assert done.returncode == 1
    folder = tmp_path / "templates"
    assert "ERROR  thank" in done.stdout and f"{folder / 'thank.j2'}:4:" in done.stdout and "referer" in done.stdout
    assert "ERROR  broken" in done.stdout and f"{folder / 'broken.j2'}:3:" in done.stdout
    assert "ok     nudge" in done.stdout  # the shipped ones still check


def test_a_users_template_overrides_the_shipped_one_and_can_set_headers(tmp_path):
    config = user_templates(tmp_path, thank=(
        "{% block subject %}Thank you, {{ referrer.first_name }}{% endblock %}\n"
        "{% block headers %}X-Priority: 3\nReply-To: {{ me.email }}{% endblock %}\n"
        "{% block body %}My own words for {{ referrer.name }}.{% endblock %}\n"))
    done = cli("templates", "preview", "thank", config=config)
    assert "Subject: Thank you, Priya" in done.stdout and "My own words for Priya Natarajan." in done.stdout
    env = drafts.environment(DraftsSettings(templates_dir=str(tmp_path / "templates")))
    from assistant.cli_drafts import sample_contexts

    parts = drafts.render_parts(env, "thank", sample_contexts()[0][1])
    assert parts.headers == [("X-Priority", "3"), ("Reply-To", "jordan.rivera@example.com")]


def test_a_template_cannot_set_the_headers_the_assistant_owns(tmp_path):
    user_templates(tmp_path, sneaky="{% block subject %}x{% endblock %}{% block headers %}Bcc: a@b.example{% endblock %}"
                                    "{% block body %}x{% endblock %}")
    env = drafts.environment(DraftsSettings(templates_dir=str(tmp_path / "templates")))
    [result] = [r for r in check_templates(env) if r["template"] == "sneaky"]
    assert not result["ok"] and "Bcc" in result["errors"][0]


def test_values_from_mail_are_data_never_template_code_and_the_sandbox_holds(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction()])
    conn = store.conn
    conn.execute("UPDATE contacts SET name='{{ 7*7 }} {% raise %}' WHERE id IN (SELECT contact_id FROM contact_addresses"
                 " WHERE email='dana@acme.example')")
    task = next(t for t in get_tasks(conn) if t.kind == "reach_out")
    env = drafts.environment(settings.drafts)
    msg = parse(drafts.render(conn, env, task, settings.accounts["main"]).content)
    assert "Hi {{," in text(msg) and "49" not in text(msg)
    assert "{{ 7*7 }}" in str(msg["To"])
    user_templates(tmp_path, evil="{% block subject %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}"
                                  "{% block body %}x{% endblock %}")
    env = drafts.environment(DraftsSettings(templates_dir=str(tmp_path / "templates")))
    [result] = [r for r in check_templates(env) if r["template"] == "evil"]
    assert not result["ok"] and "evil.j2:1: SecurityError" in result["errors"][0] and "unsafe" in result["errors"][0]


def test_preview_of_a_task_uses_its_real_data_and_stores_nothing(tmp_path):
    settings, store, source = maildir_account(tmp_path, [introduction()])
    task = next(t for t in get_tasks(store.conn) if t.kind == "thank")
    before = store.conn.execute("SELECT COUNT(*) FROM drafts").fetchone()[0]
    done = cli("templates", "preview", "report_back", "--task", str(task.id), config=tmp_path / "config.toml")
    assert "To: Priya Natarajan <priya@northwind.example>" in done.stdout
    assert "A quick update on Dana Whitfield" in done.stdout
    assert store.conn.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == before
    missing = cli("templates", "preview", "no_such_kind", check=False)
    assert missing.returncode == 9 and "reach_out_intro" in missing.stderr


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_previews_with_a_subject_and_a_body(kind):
    done = cli("templates", "preview", kind)
    lines = done.stdout.splitlines()
    assert any(line.startswith("Subject: ") and len(line) > 10 for line in lines)
    assert "None" not in done.stdout and "Jordan" in done.stdout


def test_an_html_block_makes_a_multipart_alternative(tmp_path):
    user_templates(tmp_path, fancy="{% block subject %}Hello {{ contact.first_name }}{% endblock %}"
                                   "{% block body %}Hi {{ contact.first_name }}{% endblock %}"
                                   "{% block html %}<p>Hi <b>{{ contact.first_name }}</b></p>{% endblock %}")
    env = drafts.environment(DraftsSettings(templates_dir=str(tmp_path / "templates")))
    from assistant.cli_drafts import sample_contexts
    from assistant.config import AccountSettings
    from assistant.mail import Person

    context = sample_contexts()[0][1]
    parts = drafts.render_parts(env, "fancy", context)
    hostile = drafts.render_parts(env, "fancy", {**context, "contact": {**context["contact"], "first_name": "<script>"}})
    assert "<script>" not in hostile.html and "&lt;script&gt;" in hostile.html
    account = AccountSettings(name="Jordan Rivera", email="jordan@example.com", maildir={"path": "."})
    msg = parse(bytes(drafts.build_message(parts, drafts.Addressing([Person("Dana", "dana@acme.example")]),
                                           account, "x@example.com", "t")))
    assert msg.get_content_type() == "multipart/alternative"
    assert "<b>Dana</b>" in msg.get_body(("html",)).get_content() and "Hi Dana" in text(msg.get_body(("plain",)))
