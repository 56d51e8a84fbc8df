"""Task and rule commands: tasks, done, snooze, dismiss, leads, rules list|check|test, rescan."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli import JsonOpt, app, load, open_store
from .errors import AssistantError

rules_app = typer.Typer(help="The follow-up rules: list them, check them, try them on a message.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


def _now() -> datetime:
    return datetime.now().astimezone()


def _zone(settings):
    from .schedule import zone

    return zone(settings.schedule)


def _who(person) -> str:
    if person is None:
        return ""
    return person.name or person.email or ""


# --- tasks ------------------------------------------------------------------------------------


@app.command("tasks")
def tasks_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Also snoozed, done, dismissed and cold tasks.")] = False,
    kind: Annotated[Optional[list[str]], typer.Option("--kind", "-k", help="Only this kind (repeatable): reach_out, thank, ...")] = None,
    status: Annotated[Optional[list[str]], typer.Option("--status", "--state", "-s", help="Only this state (repeatable): open, snoozed, done, dismissed, cold.")] = None,
    contact: Annotated[Optional[str], typer.Option("--contact", help="Only tasks about or to someone (part of a name or address).")] = None,
    ics: Annotated[Optional[Path], typer.Option("--ics", help="Also write the open tasks as an iCalendar file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List follow-up tasks: overdue and due first (overdue in red)."""
    from . import followup, tasks
    from .errors import ConfigError

    settings, _ = load()
    bad = [s for s in status or () if s not in tasks.STATUSES]
    if bad:
        raise ConfigError(f"--status {bad[0]!r}: use one of {', '.join(tasks.STATUSES)}")
    statuses = tuple(status) if status else (() if all_ else ("open",))
    now = _now()
    store = open_store(settings)
    try:
        with store.transaction():  # time passed: snoozes end, silent contacts go cold
            followup.tick(store.conn, now, settings.schedule)
        rows = tasks.get_tasks(store.conn, statuses=statuses, kinds=tuple(kind or ()), contact=contact)
        if ics is not None:
            _write_ics(ics, tasks.get_tasks(store.conn, statuses=("open",), kinds=tuple(kind or ()), contact=contact), now)
    finally:
        store.close()
    order = {s: i for i, s in enumerate(("open", "snoozed", "cold", "done", "dismissed"))}
    rows.sort(key=lambda t: (order.get(t.status, 9), t.due, -t.priority, t.id))
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row.as_dict(), ensure_ascii=False))
        return
    _print_tasks(rows, now, _zone(settings), ics)


def _print_tasks(rows, now: datetime, zone, ics: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if ics is not None:
        console.print(f"wrote {ics}")
    if not rows:
        console.print("No tasks.")
        return
    table = Table("id", "due", "task", "contact", "referrer", "status")
    for row in rows:
        due = row.due.astimezone(zone)
        style = "red" if row.status == "open" and row.due < now else ("bold" if due.date() == now.astimezone(zone).date() else "")
        when = due.strftime("%a %d %b %H:%M")
        state = row.status
        if row.status == "snoozed" and row.snoozed_until:
            state += f" until {row.snoozed_until.astimezone(zone):%a %d %b %H:%M}"
        elif row.status == "done" and row.done_how:
            state += f" ({row.done_how.replace('_', ' ')})"
        table.add_row(str(row.id), f"[{style}]{when}[/]" if style else when, row.title,
                      _who(row.contact), _who(row.referrer), state)
    console.print(table)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r", "").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545: lines of at most 75 octets, continued with a space."""
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def ics_calendar(rows, now: datetime) -> str:
    """Open tasks as VEVENTs (15 minutes at the due time): calendar apps subscribe to events, few to VTODOs."""
    from datetime import timedelta, timezone

    stamp = lambda d: d.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")  # noqa: E731
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//assistant//follow-up tasks//EN", "CALSCALE:GREGORIAN",
             "X-WR-CALNAME:Follow-ups"]
    for row in rows:
        about = ", ".join(x for x in (f"write to {_who(row.to)}" if row.to else "",
                                      f"about {_who(row.contact)}" if row.contact and row.contact != row.to else "",
                                      f"from {_who(row.referrer)}" if row.referrer and row.referrer != row.to else "",
                                      row.company or "") if x)
        lines += ["BEGIN:VEVENT", f"UID:assistant-task-{row.id}-{row.account}@assistant", f"DTSTAMP:{stamp(now)}",
                  f"DTSTART:{stamp(row.due)}", f"DTEND:{stamp(row.due + timedelta(minutes=15))}",
                  f"SUMMARY:{_ics_text(row.title)}",
                  f"DESCRIPTION:{_ics_text(f'{about}. Task {row.id}: assistant done {row.id}' if about else f'Task {row.id}')}",
                  f"PRIORITY:{max(1, 9 - 2 * row.priority)}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def _write_ics(path: Path, rows, now: datetime) -> None:
    import os

    path = path.expanduser()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(ics_calendar(rows, now), encoding="utf-8", newline="")
    os.replace(tmp, path)  # a calendar app polling the file never reads half of it


# --- done, snooze, dismiss ----------------------------------------------------------------------------


def _change(task_id: int, verb: str, action) -> None:
    from . import tasks

    settings, _ = load()
    store = open_store(settings)
    try:
        with store.transaction():
            action(store.conn, settings)
            task = tasks.get_task(store.conn, task_id)
    finally:
        store.close()
    typer.echo(f"{task.id} {verb}: {task.title}")


@app.command()
def done(
    task_id: Annotated[int, typer.Argument(metavar="ID", help="The task's id (assistant tasks).")],
    how: Annotated[str, typer.Option("--how", help="by_hand, sent or by_reply.")] = "by_hand",
) -> None:
    """Mark a task done."""
    from . import followup, tasks

    if how not in tasks.DONE_HOW:
        raise typer.BadParameter(f"use one of {', '.join(tasks.DONE_HOW)}", param_hint="--how")
    now = _now()
    if how == "sent":  # the same as the tracker seeing it in Sent: the nudge gets scheduled
        _change(task_id, "done (sent)", lambda conn, s: followup.on_sent(conn, task_id, now, s.schedule))
    else:
        _change(task_id, f"done ({how.replace('_', ' ')})", lambda conn, s: tasks.mark_done(conn, task_id, how, now))


@app.command()
def snooze(
    task_id: Annotated[int, typer.Argument(metavar="ID")],
    until: Annotated[list[str], typer.Argument(metavar="UNTIL", help="'tomorrow 9am', '2d', '3h', 'monday', '2026-12-01 14:00'.")],
) -> None:
    """Hide a task until a time; it comes back by itself."""
    from . import tasks
    from .errors import ConfigError
    from .schedule import parse_when

    now = _now()

    def action(conn, settings):
        try:
            when = parse_when(" ".join(until), now, settings.schedule)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        tasks.snooze(conn, task_id, when, now)

    _change(task_id, "snoozed", action)


@app.command()
def dismiss(
    task_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the task's history).")] = "dismissed by hand",
) -> None:
    """Drop a task that needs no doing; its draft leaves Drafts and is never sent."""
    from . import send, tasks
    from .source import open_source

    settings, _ = load()
    store = open_store(settings)
    try:
        task = tasks.get_task(store.conn, task_id)
        source, warning = None, None
        if store.conn.execute("SELECT 1 FROM drafts WHERE task_id=? AND state='appended'", (task_id,)).fetchone():
            try:
                source = open_source(task.account, settings.accounts[task.account])
            except AssistantError as exc:
                warning = f"the draft stays in your Drafts folder (delete it there): {exc}"
        try:
            warning = send.dismiss(store.conn, source, task_id, reason, _now()) or warning
        finally:
            if source is not None:
                source.close()
    finally:
        store.close()
    typer.echo(f"{task.id} dismissed: {task.title}")
    if warning:
        typer.echo(f"warning: {warning}", err=True)


# --- leads ----------------------------------------------------------------------------------------------


@app.command()
def leads(
    all_: Annotated[bool, typer.Option("--all", help="Also leads whose tasks are all closed.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Each lead with its referrer, its contacts and the state of each step."""
    from . import tasks

    settings, _ = load()
    zone = _zone(settings)
    store = open_store(settings)
    try:
        out = tasks.leads(store.conn, include_closed=all_)
    finally:
        store.close()
    if as_json:
        for item in out:
            typer.echo(json.dumps(item, ensure_ascii=False))
        return
    if not out:
        typer.echo("No leads with open tasks." if not all_ else "No leads.")
    for item in out:
        what = " at ".join(x for x in (item["role"], item["company"]) if x) or item["subject"]
        by = _who_dict(item["referrer"]) or "-"
        typer.echo(f"lead {item['id']} [{item['kind']}, {item['state']}] {what} (from {by})")
        for c in item["contacts"]:
            last = (f", last written to {datetime.fromisoformat(c['last_contacted']).astimezone(zone):%a %d %b}"
                    if c["last_contacted"] else "")
            typer.echo(f"    contact {_who_dict(c)}: {c['state']}" + (f", {c['nudges']} nudge(s) sent" if c["nudges"] else "") + last)
        for step in item["steps"]:
            due = datetime.fromisoformat(step["due"]).astimezone(zone).strftime("%a %d %b %H:%M")
            how = f" ({step['done_how'].replace('_', ' ')})" if step["done_how"] else ""
            typer.echo(f"    {step['id']:>5} {step['status'] + how:<16} due {due}  {step['title']}")


def _who_dict(person: dict | None) -> str:
    if not person:
        return ""
    return f"{person['name']} <{person['email']}>" if person.get("email") and person.get("name") else person.get("name") or person.get("email") or ""
