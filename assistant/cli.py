"""The command line: a thin layer over the library.  Only here does an error become an exit.

Exit codes (README): 0 ok, 1 unexpected error, 2 config, 3 credentials, 4 connection,
5 TLS, 6 login, 7 mailbox, 8 locked by another run, 9 not found, 10 send failed.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import AssistantError

app = typer.Typer(
    help="Turn introductions, referrals, leads and requests in your inbox into follow-up tasks and drafts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("assistant")


class State:
    config: Optional[Path] = None


state = State()


@app.callback()
def _global(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Config file (else $ASSISTANT_CONFIG, else the XDG path).")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    state.config = config
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def load():
    from .config import load_settings

    return load_settings(state.config)


def _accounts(settings, account: Optional[str]) -> list[str]:
    from .errors import ConfigError

    if account is None:
        return list(settings.accounts)
    if account not in settings.accounts:
        raise ConfigError(f"no account {account!r} in the config (have: {', '.join(settings.accounts)})")
    return [account]


def open_store(settings):
    from .config import state_dir
    from .store import Store

    return Store.open(state_dir(settings))


AccountOpt = Annotated[Optional[str], typer.Option("--account", "-a", help="Only this account (default: all).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command()
def scan(account: AccountOpt = None, as_json: JsonOpt = False) -> None:
    """Read new mail, open follow-up tasks and put their drafts in Drafts (what cron runs)."""
    from .scan import scan_accounts

    settings, _ = load()
    # What start-up made (modules, the config's and the command line's schemas) lives until
    # exit: the collector need not walk it again on every full collection of a long scan.
    gc.freeze()
    with _progress(enabled=not as_json and sys.stderr.isatty()) as progress:
        reports = scan_accounts(settings, _accounts(settings, account), progress)
    if as_json:
        for report in reports:
            typer.echo(json.dumps(report.as_dict()))
        return
    for report in reports:
        _print_report(report)


@app.command()
def watch(
    account: AccountOpt = None,
    poll: Annotated[float, typer.Option(help="Seconds between scans where the server has no IDLE (and for a Maildir).")] = 300.0,
) -> None:
    """Run as a daemon: scan now, then each time new mail arrives (IMAP IDLE)."""
    import signal
    import threading

    from .daemon import watch as watch_account
    from .errors import ConfigError
    from .scan import scan_accounts

    settings, _ = load()
    names = _accounts(settings, account)
    if len(names) > 1:
        raise ConfigError(f"watch follows one account: pass --account (one of {', '.join(names)})")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def scan_now() -> None:
        for report in scan_accounts(settings, names):
            log.info("%s: %d new, %d task(s), %d draft(s)", report.account, report.messages, report.tasks_opened,
                     report.drafts_appended)

    watch_account(names[0], settings.accounts[names[0]], scan_now, stop, poll)


class _progress:
    """A rich progress bar on a terminal for long scans; nothing otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        return self.update

    def update(self, folder: str, done: int, total: int) -> None:
        if folder not in self.tasks:
            self.tasks[folder] = self.bar.add_task(f"scanning {folder}", total=total)
        self.bar.update(self.tasks[folder], completed=done, total=max(total, done))

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_report(report) -> None:
    from rich.console import Console

    console = Console()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.detected.items()) if k != "none") or "nothing to follow up"
    console.print(
        f"[bold]{report.account}[/]: {report.messages} new message(s), {report.skipped} skipped, "
        f"{report.duplicates} already seen; found: {counts}"
    )
    for item in report.found:
        who = ", ".join(c["name"] or c["email"] for c in item["contacts"]) or "-"
        by = item["referrer"]["name"] if item["referrer"] else "-"
        console.print(f"  {item['kind']:<12} {item['subject'][:60]!r} from {by}; contacts: {who} -> {item['tasks']} task(s)")
    where = f" ({report.drafts_folder})" if report.drafts_folder else ""
    console.print(f"  tasks opened: {report.tasks_opened}, drafts put in Drafts: {report.drafts_appended}{where}")


@app.command()
def classify(
    files: Annotated[list[Path], typer.Argument(help=".eml files to classify.", exists=True, dir_okay=False)],
    me: Annotated[list[str], typer.Option("--me", help="The mailbox owner's address (repeatable).")],
    as_json: JsonOpt = False,
) -> None:
    """Say what each message is (introduction, referral, lead, request, none) and who it names."""
    from .detect import classify_bytes

    addresses = [m.strip().lower() for m in me]
    for path in files:
        detection = classify_bytes(path.read_bytes(), addresses)
        if as_json:
            typer.echo(json.dumps({"file": str(path), **detection.as_dict()}, ensure_ascii=False))
        else:
            who = ", ".join(f"{c.name} <{c.email}>" for c in detection.contacts) or "-"
            typer.echo(f"{path}: {detection.kind} ({detection.confidence:.2f}) contacts: {who}; " + "; ".join(detection.reasons))


def load_commands() -> typer.Typer:
    """The app with every command: the modules below add theirs to `app` when imported."""
    from . import cli_setup  # noqa: F401  (init, doctor)
    from . import cli_drafts  # noqa: F401  (templates check|preview, review, send)
    from . import cli_rules, cli_tasks  # noqa: F401  (tasks, done, snooze, dismiss, leads, rules, rescan)

    return app


def main() -> None:
    # At exit the interpreter collects garbage several times over everything still alive
    # (about 50 ms after a large scan), to free memory the process is about to give back.
    # Objects frozen are skipped; files and connections are closed before, not by the collector.
    atexit.register(gc.freeze)
    try:
        load_commands()()
    except AssistantError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
