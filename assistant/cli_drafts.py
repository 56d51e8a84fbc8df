"""Draft commands: templates check | preview, review, send."""

from __future__ import annotations

import json
import traceback
from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional

import typer

from .cli import AccountOpt, JsonOpt, _accounts, app, load, open_store

templates_app = typer.Typer(help="The draft templates: check them, preview a draft.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


def _drafts_settings():
    """[drafts] of the config; the defaults when there is no config file yet (templates work without one)."""
    from .config import DraftsSettings
    from .errors import ConfigError

    try:
        settings, _ = load()
    except ConfigError as exc:
        if "no config file" not in str(exc):
            raise
        return DraftsSettings(), None
    return settings.drafts, settings


# --- sample data: every variable a template may use, as `templates check` renders them ----------

def sample_contexts() -> list[tuple[str, dict]]:
    """(label, context): a full one per lead kind, and a sparse one (no company, role or history)."""
    me = {"name": "Jordan Rivera", "first_name": "Jordan", "email": "jordan.rivera@example.com"}
    dana = {"name": "Dana Whitfield", "first_name": "Dana", "email": "dana@acme.example"}
    priya = {"name": "Priya Natarajan", "first_name": "Priya", "email": "priya@northwind.example"}
    sent = (datetime.now(timezone.utc) - timedelta(days=6)).isoformat(timespec="seconds")
    out = []
    for kind in ("introduction", "referral", "lead", "request"):
        for sparse in (False, True):
            lead = {"kind": kind, "subject": "Intro: Jordan <> Dana (Acme Robotics)",
                    "company": None if sparse else "Acme Robotics", "role": None if sparse else "Data Engineer",
                    "outreach_date": None if sparse else sent, "days_since_outreach": None if sparse else 6,
                    "nudges_sent": 0 if sparse else 1,
                    "history": [] if sparse else [{"at": sent, "task": "reach_out", "status": "done", "note": "sent"}],
                    "outreach": None if sparse else {"subject": "Re: Intro: Jordan <> Dana", "message_id": "a@b", "date": sent}}
            out.append((f"{kind}{' (sparse)' if sparse else ''}", {
                "me": me, "contact": dana, "contacts": [dana], "referrer": priya,
                "company": lead["company"], "role": lead["role"], "lead_kind": kind, "lead": lead,
                "requests": [] if sparse else ["send your resume"], "bcc_referrer": not sparse,
                "task": {"id": 1, "kind": "reach_out", "title": "Reach out to Dana Whitfield",
                         "due": datetime.now(timezone.utc)},
                "original": {"subject": lead["subject"], "date": None if sparse else "24 Nov 2026",
                             "message_id": "intro@northwind.example", "sender": priya["email"],
                             "excerpt": "" if sparse else "Jordan, meet Dana, who leads the data platform team."},
            }))
    return out


def _where(exc: BaseException, filename: str | None) -> str:
    """file:line of a template error: Jinja puts the template's own lines in the traceback."""
    lineno = getattr(exc, "lineno", None)
    name = getattr(exc, "filename", None) or filename
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.endswith(".j2"):
            name, lineno = frame.filename, frame.lineno
            break
    return f"{name or '?'}:{lineno or '?'}"


def check_templates(env) -> list[dict]:
    """Render every template against the sample data: one entry a template (errors with file:line)."""
    from jinja2 import TemplateError

    from .drafts import RenderError, render_parts, template_names

    results = []
    for name in template_names(env):
        problems: list[str] = []
        filename = None
        try:
            filename = env.get_template(f"{name}.j2").filename
        except TemplateError as exc:
            results.append({"template": name, "ok": False, "errors": [f"{_where(exc, filename)}: {exc}"]})
            continue
        for label, context in sample_contexts():
            try:
                parts = render_parts(env, name, context)
            except (TemplateError, RenderError, TypeError, ValueError) as exc:
                problem = f"{_where(exc, filename)}: {type(exc).__name__}: {exc}"
                if problem not in problems:
                    problems.append(problem)
                continue
            if "None" in parts.subject or "None" in parts.body:
                problem = f"{filename}: prints 'None' with {label} data (guard it with {{% if %}})"
                if problem not in problems:
                    problems.append(problem)
        results.append({"template": name, "file": filename, "ok": not problems, "errors": problems})
    return results


@templates_app.command("check")
def templates_check(as_json: JsonOpt = False) -> None:
    """Render every template (shipped and yours) against sample data; report errors with file and line."""
    from .drafts import environment

    drafts_settings, _ = _drafts_settings()
    results = check_templates(environment(drafts_settings))
    for result in results:
        if as_json:
            typer.echo(json.dumps(result))
            continue
        typer.echo(f"{'ok' if result['ok'] else 'ERROR':5}  {result['template']}")
        for problem in result["errors"]:
            typer.echo(f"       {problem}")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@templates_app.command("preview")
def templates_preview(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="A template name: reach_out_intro, thank, nudge, ...")],
    task_id: Annotated[Optional[int], typer.Option("--task", help="Draft it for this task's real data.")] = None,
    account: AccountOpt = None,
) -> None:
    """Print the draft a template makes, from sample data or for a task (nothing is stored or appended)."""
    from jinja2 import TemplateNotFound

    from .drafts import Addressing, build_message, environment, render, render_parts, template_names
    from .errors import NotFoundError
    from .mail import Person

    drafts_settings, settings = _drafts_settings()
    env = environment(drafts_settings)
    if kind not in template_names(env):
        raise NotFoundError(f"no template {kind!r} (have: {', '.join(template_names(env))})")
    if task_id is not None:
        if settings is None:
            raise NotFoundError("--task needs a config file and its state")
        from .tasks import get_task

        store = open_store(settings)
        try:
            task = get_task(store.conn, task_id)
            content = render(store.conn, env, task, settings.accounts[task.account], template=kind).content
        finally:
            store.close()
    else:
        try:
            context = sample_contexts()[0][1]
            parts = render_parts(env, kind, context)
        except TemplateNotFound:
            raise NotFoundError(f"no template {kind!r}") from None
        from .config import AccountSettings

        me = (settings.accounts[_accounts(settings, account)[0]] if settings else
              AccountSettings(name="Jordan Rivera", email="jordan.rivera@example.com", maildir={"path": "."}))
        replies = ("thank", "report_back", "reply_request")  # written to the referrer
        to = Addressing([Person("Priya Natarajan", "priya@northwind.example") if kind in replies
                         else Person("Dana Whitfield", "dana@acme.example")])
        content = bytes(build_message(parts, to, me, "preview@example.invalid", "preview"))
    from .review import describe

    headers, body = describe(content)
    for name, value in headers:
        typer.echo(f"{name}: {value}")
    typer.echo("")
    typer.echo(body.rstrip())


@app.command()
def review(account: AccountOpt = None) -> None:
    """Walk the pending drafts, oldest due first: approve and send, edit, skip, dismiss, snooze, quit."""
    from . import review as review_mod
    from .source import open_source

    settings, _ = load()
    store = open_store(settings)
    try:
        for name in _accounts(settings, account):
            source = review_mod.Reconnecting(lambda name=name: open_source(name, settings.accounts[name]))
            try:
                review_mod.run(store.conn, source, settings, name, datetime.now().astimezone())
            finally:
                source.close()
    finally:
        store.close()


@app.command("send")
def send_cmd(
    task_id: Annotated[int, typer.Argument(metavar="ID", help="The task whose draft to send.")],
    force: Annotated[bool, typer.Option("--force", help="Send again after an interrupted attempt that left no copy in Sent.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send the draft of task ID now, without review (for scripts: the command is the approval)."""
    from . import send
    from .source import open_source
    from .tasks import get_task

    settings, _ = load()
    store = open_store(settings)
    try:
        task = get_task(store.conn, task_id)
        _accounts(settings, task.account)
        source = open_source(task.account, settings.accounts[task.account])
        try:
            result = send.send_task(store.conn, source, settings, task.account, task_id,
                                    datetime.now().astimezone(), force=force)
        finally:
            source.close()
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    typer.echo(f"task {task_id}: {result.outcome} ({', '.join(result.recipients) or result.message_id})")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
