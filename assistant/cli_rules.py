"""`assistant rules list|check|test` and `assistant rescan --since DATE`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from . import cli_tasks
from .cli import AccountOpt, JsonOpt, _accounts, load, open_store
from .cli_tasks import app, rules_app


def _ruleset():
    from . import rules

    settings, config_file = load()
    return settings, config_file, rules.load(settings, config_file)


def _describe_when(cond) -> str:
    parts = []
    for name, value in cond.model_dump(exclude_none=True, by_alias=True, exclude_defaults=True).items():
        parts.append(f"{name}={value if not isinstance(value, list) or len(value) != 1 else value[0]}")
    return ", ".join(parts) or "always"


def _describe_actions(rule) -> str:
    if rule.skip:
        return "skip"
    acts = [f"{t.kind}({t.for_}) due {t.due}" + (f" via {t.template}" if t.template else "") for t in rule.task]
    return "; ".join(acts + (["stop"] if rule.stop else [])) or "-"


@rules_app.command("list")
def rules_list(as_json: JsonOpt = False) -> None:
    """Every rule in effect, in order, and where it comes from."""
    from .rules import user_rules_path

    settings, config_file, ruleset = _ruleset()
    rows = [(n, lr, "in effect") for n, lr in enumerate(ruleset.rules, 1)] + [(None, lr, "disabled") for lr in ruleset.disabled]
    if as_json:
        for n, lr, state in rows:
            typer.echo(json.dumps({"order": n, "name": lr.rule.name, "source": lr.source, "overrides": lr.overrides,
                                   "state": state, "rule": lr.rule.model_dump(by_alias=True, exclude_none=True)}, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("#", "rule", "from", "when", "then")
    for n, lr, state in rows:
        source = ("built-in" if lr.source == "built-in" else "your rules") + (" (replaces built-in)" if lr.overrides else "")
        name = lr.rule.name if state == "in effect" else f"[dim]{lr.rule.name} (disabled)[/]"
        table.add_row(str(n or "-"), name, source, _describe_when(lr.rule.when), _describe_actions(lr.rule))
    console = Console()
    console.print(table)
    console.print(f"your rules file: {ruleset.user_file or '(none: ' + str(user_rules_path(settings, config_file)) + ' does not exist)'}")
    for warning in ruleset.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


@rules_app.command("check")
def rules_check() -> None:
    """Validate the built-in rules and yours; exit 2 with FILE: rule NAME: field: reason on a problem."""
    _, _, ruleset = _ruleset()
    users = sum(1 for lr in ruleset.rules + ruleset.disabled if lr.source != "built-in")
    typer.echo(f"ok: {len(ruleset.rules)} rule(s) in effect, {len(ruleset.disabled)} disabled, {users} from "
               f"{ruleset.user_file or 'no rules file of yours'}")
    for warning in ruleset.warnings:
        typer.echo(f"warning: {warning}", err=True)


@rules_app.command("test")
def rules_test(
    file: Annotated[Path, typer.Argument(metavar="FILE.eml", exists=True, dir_okay=False, help="A message file.")],
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which rules fire on a message, why, and the tasks that would open (nothing is written)."""
    from . import rules
    from .detect import detect
    from .mime import raw_from_bytes
    from .parse import parse
    from .schedule import zone

    settings, _, ruleset = _ruleset()
    name = _accounts(settings, account)[0]
    me = settings.accounts[name].addresses
    mail = parse(raw_from_bytes(file.read_bytes(), folder="INBOX"))
    detection = detect(mail, me)
    result = rules.evaluate(ruleset, mail, detection, settings.schedule, cli_tasks._now(), me)
    tz = zone(settings.schedule)
    person = lambda p: p.as_dict() if p else None  # noqa: E731
    if as_json:
        typer.echo(json.dumps({
            "file": str(file), "detection": detection.as_dict(), "skipped_by": result.skipped_by, "stopped_by": result.stopped_by,
            "rules": [{"name": f.rule.rule.name, "source": f.rule.source, "fired": f.matched, "why": f.why} for f in result.firings],
            "tasks": [{"kind": s.kind, "title": s.title, "due": s.due.isoformat(), "to": person(s.person),
                       "contact": person(s.about), "template": s.template, "priority": s.priority, "rule": s.rule}
                      for s in result.specs],
        }, ensure_ascii=False))
        return
    typer.echo(f"{file}: {detection.kind} ({detection.confidence:.2f}); " + "; ".join(detection.reasons))
    if not result.firings:
        typer.echo("detection found nothing to follow up, so no rule is tried")
        return
    for firing in result.firings:
        mark = "FIRES" if firing.matched else "no   "
        typer.echo(f"  {mark} {firing.rule.rule.name} [{firing.rule.source}]: {'; '.join(firing.why)}")
    if result.skipped_by:
        typer.echo(f"skipped by rule {result.skipped_by}: no tasks")
    elif result.stopped_by:
        typer.echo(f"rule {result.stopped_by} stops here: later rules are not tried")
    for spec in result.specs:
        due = spec.due.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")
        to = f" -> {spec.person.name or spec.person.email}" if spec.person else ""
        typer.echo(f"  task {spec.kind}{to}: {spec.title!r} due {due}"
                   + (f", drafted with {spec.template}" if spec.template else ", no draft") + f" (rule {spec.rule})")
    if not result.specs and not result.skipped_by:
        typer.echo("no tasks would open")


@app.command()
def rescan(
    since: Annotated[str, typer.Option("--since", help="Messages dated on or after this day (2026-11-01, or '2w' ago).")],
    account: AccountOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply the rules again to messages already seen; open only the tasks that are missing."""
    from .config import state_dir
    from .rescan import rescan_account
    from .source import open_source
    from .store import run_lock

    settings, config_file, ruleset = _ruleset()
    start = _since(since, settings)
    reports = []
    with run_lock(state_dir(settings)):
        store = open_store(settings)
        try:
            for name in _accounts(settings, account):
                source = open_source(name, settings.accounts[name])
                try:
                    reports.append(rescan_account(store, source, settings, name, start, cli_tasks._now(), ruleset))
                finally:
                    source.close()
        finally:
            store.close()
    for report in reports:
        if as_json:
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
            continue
        typer.echo(f"{report.account}: {report.messages} message(s) since {start:%Y-%m-%d %H:%M} read again; "
                   f"{report.tasks_opened} task(s) opened, {report.drafts_appended} draft(s) put in Drafts")
        for task in report.opened:
            typer.echo(f"  {task['id']:>5} {task['kind']:<12} {task['title']}")


def _since(text: str, settings) -> datetime:
    """A day ("2026-11-01": its start in the user's zone) or a span back from now ("2w", "10d")."""
    import re
    from datetime import timedelta

    from .errors import ConfigError
    from .schedule import zone

    if m := re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text.lower()):
        return cli_tasks._now() - timedelta(days=int(m[1]) * (7 if m[2] == "w" else 1))
    try:
        from dateutil import parser

        found = parser.isoparse(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r}: use a date like 2026-11-01 or a span like 2w") from None
    return found.replace(tzinfo=zone(settings.schedule)) if found.tzinfo is None else found
