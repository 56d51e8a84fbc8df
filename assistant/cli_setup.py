"""`assistant init` and `assistant doctor`: set up an account and check that it works."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Optional

import typer

from .cli import app, load, state
from .errors import AssistantError, ConfigError, CredentialError


def _example_config() -> str:
    return resources.files("assistant").joinpath("config.example.toml").read_text(encoding="utf-8")


@app.command()
def init(
    name: Annotated[str, typer.Option(prompt="Your name (as drafts sign)")],
    email: Annotated[str, typer.Option(prompt="Your email address")],
    host: Annotated[str, typer.Option(prompt="IMAP server")],
    username: Annotated[str, typer.Option(help="IMAP username (default: your email).")] = "",
    port: Annotated[int, typer.Option(help="IMAP port.")] = 993,
    security: Annotated[str, typer.Option(help="tls, starttls or none.")] = "tls",
    store_password: Annotated[bool, typer.Option("--password/--no-password", help="Prompt for the IMAP password and keep it in the keyring.")] = True,
    force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a commented config file and keep the IMAP password in the OS keyring."""
    from . import credentials
    from .config import config_path, load_settings

    path = config_path(state.config)
    if path.exists() and not force:
        raise ConfigError(f"{path}: exists already (use --force to overwrite)")
    text = _example_config()
    for key, value in (("name", name), ("email", email), ("host", host), ("username", username or email),
                       ("port", port), ("security", security)):
        text = _set_first(text, key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    settings, _ = load_settings(path)  # what init wrote must load
    typer.echo(f"wrote {path}")
    if store_password:
        password = typer.prompt("IMAP password", hide_input=True)
        credentials.store("main", username or email, password)
        typer.echo("password kept in the keyring")


def _set_first(text: str, key: str, value) -> str:
    """Replace the first `key = ...` line of the example, keeping its comment."""
    import re

    rendered = str(value) if isinstance(value, int) else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    pattern = re.compile(rf"^(\s*{key}\s*=\s*)[^#\n]*?(\s*(#.*)?)$", re.MULTILINE)
    return pattern.sub(lambda m: f"{m.group(1)}{rendered}{m.group(2)}", text, count=1)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    needed: bool = True
    error: AssistantError | None = None


def _checks_for(name: str, account) -> list[Check]:
    from . import credentials, imap
    from .tls import hint_for

    checks: list[Check] = []
    if account.maildir is not None:
        from .maildir import MaildirSource

        try:
            source = MaildirSource(account.maildir)
            for folder in account.maildir.folders:
                source.folder_path(folder)
            checks.append(Check("maildir", True, f"{source.root}: folders {', '.join(account.maildir.folders)} found"))
        except AssistantError as exc:
            checks.append(Check("maildir", False, str(exc), error=exc))
        return checks
    settings = account.imap
    where = f"{settings.host}:{settings.port}"
    username = settings.username or account.email
    try:
        cred = credentials.find(name, username, settings.password_command)
        checks.append(Check("credential", True, f"password for {username!r} from {cred.source}"))
    except CredentialError as exc:
        return checks + [Check("credential", False, str(exc), error=exc)]
    try:
        socket.create_connection((settings.host, settings.port), timeout=settings.timeout).close()
        checks.append(Check("reachable", True, f"{where} accepts connections"))
    except OSError as exc:
        from .errors import ConnectError

        err = ConnectError(f"{where}: cannot connect: {hint_for(exc)}")
        return checks + [Check("reachable", False, str(err), error=err)]
    try:
        client = imap.open_client(settings)
    except AssistantError as exc:
        return checks + [Check("tls", False, str(exc), error=exc)]
    checks.append(Check("tls", True, "certificate verified" if settings.security != "none" else "plain connection (security = \"none\")",
                        needed=True))
    try:
        imap.login(client, settings, cred)
    except AssistantError as exc:
        return checks + [Check("login", False, str(exc), error=exc)]
    checks.append(Check("login", True, f"logged in as {username!r}"))
    source = imap.ImapSource(client, settings)
    try:
        names = {n for _, n in source.list_folders()}
        missing = [f for f in settings.folders if f not in names]
        from .errors import MailboxError

        if missing:
            err = MailboxError(f"folders not on the server: {', '.join(missing)}")
            checks.append(Check("folders", False, str(err), error=err))
        else:
            checks.append(Check("folders", True, f"{', '.join(settings.folders)} found"))
        try:
            drafts = source.drafts_folder()
            how = "SPECIAL-USE \\Drafts" if not settings.drafts_folder else "configured"
            checks.append(Check("drafts", True, f"{drafts!r} ({how})"))
        except AssistantError as exc:
            checks.append(Check("drafts", False, str(exc), error=exc))
        for cap in ("CONDSTORE", "IDLE", "SPECIAL-USE"):
            present = cap in source.capabilities
            checks.append(Check(cap.lower(), present, "supported" if present else "not supported (works without it, slower)", needed=False))
    finally:
        source.close()
    return checks


@app.command()
def doctor(account: Annotated[Optional[str], typer.Option("--account", "-a")] = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the config, credentials, server, TLS, login, folders and Drafts; exit 0 only if all pass."""
    import json

    from .cli import _accounts

    from . import send

    settings, path = load()
    results: list[tuple[str, Check]] = [("-", Check("config", True, f"{path} is valid"))]
    for name in _accounts(settings, account):
        results.extend((name, c) for c in _checks_for(name, settings.accounts[name]))
        if settings.accounts[name].smtp is not None:
            try:
                results.append((name, Check("smtp", True, send.check_smtp(name, settings.accounts[name]))))
            except AssistantError as exc:
                results.append((name, Check("smtp", False, str(exc), error=exc)))
    for rule in send.auto_send_rules(settings):
        results.append(("-", Check("auto_send", False, f"rule {rule!r} sends drafts without your review", needed=False)))
    failed = [c for _, c in results if c.needed and not c.ok]
    for name, check in results:
        if as_json:
            typer.echo(json.dumps({"account": name, "check": check.name, "ok": check.ok, "needed": check.needed, "detail": check.detail}))
        else:
            mark = "PASS" if check.ok else ("FAIL" if check.needed else "warn")
            typer.echo(f"{mark:4}  {name:>8}  {check.name:<11} {check.detail}")
    if failed:
        first = failed[0].error
        raise typer.Exit(first.exit_code if first else 1)
