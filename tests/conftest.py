"""Shared fixtures: a real Dovecot for the session, a fresh user per test, and an
assistant config file pointing at that user.

Fixtures
  dovecot      (session)  a tests/dovecot.py DovecotServer on 127.0.0.1: .host,
                          .port_tls, .port_plain, .ca_file, .add_user(), .maildir(),
                          .deliver(), .log_tail().  Skips loudly when Dovecot is not
                          installed; fails instead when CI=true.
  mailbox      (function) a new user on it (unique name, random password): a
                          dovecot.Mailbox with .username, .password, .host, .port_tls,
                          .port_plain, .ca_file, .maildir(folder), .connect(security),
                          .append(), .fetch_flags(), .count(), .fetch_messages().
  config_file  (function) a factory: config_file(**overrides) writes an assistant TOML
                          config for the test's mailbox (state dir in tmp_path), sets
                          ASSISTANT_PASSWORD_MAIN and returns an AssistantConfig
                          (.path, .password, .state_dir, .env_var, .mailbox); it is
                          os.PathLike, so `["--config", str(cfg)]` works.

  smtp_server, starttls_server (function) aiosmtpd with TLS and AUTH (tests/smtp_server.py)
  sending_account (function) an introduction scanned into the mailbox's Drafts, with SMTP
                          configured and save_sent on: (config, mailbox, smtp_server)

Helpers (also methods of the mailbox):  from conftest import append, fetch_flags, count
  append(mailbox, folder, data, flags=())  -> UID of the new message
  fetch_flags(mailbox, folder="INBOX", uids=None) -> {uid: (flags...)}
  count(mailbox, folder="INBOX")           -> number of messages

Every test that uses `dovecot`, `mailbox` or `config_file` gets the `server` mark.
For the whole session PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring, so no test
touches a real keyring (a test may override it with monkeypatch.setenv).
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import sys

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:  # also when tests/ becomes a package or another import mode is used
    sys.path.insert(0, _TESTS)

import dovecot as dovecot_lib  # noqa: E402  (tests/dovecot.py)
import cli_run  # noqa: E402
from sample_mail import introduction  # noqa: E402
from smtp_server import smtp_server, starttls_server  # noqa: E402,F401  (fixtures for every test module)

os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

MISSING_DOVECOT = (
    "Dovecot not installed: run 'sudo apt-get install dovecot-imapd' "
    "(make test does this as root)"
)
SERVER_FIXTURES = {"dovecot", "mailbox", "config_file"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


_missing_dovecot: list[bool] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _missing_dovecot:
        terminalreporter.write_sep("*", "DOVECOT MISSING", red=True, bold=True)
        terminalreporter.write_line(f"*** {MISSING_DOVECOT}", red=True, bold=True)
        terminalreporter.write_line(
            "*** every test marked 'server' was "
            + ("FAILED (CI=true)" if _in_ci() else "SKIPPED"),
            red=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def dovecot() -> Iterator[dovecot_lib.DovecotServer]:
    if dovecot_lib.find_dovecot() is None:
        banner = "\n" + "*" * 78 + f"\n*** {MISSING_DOVECOT}\n" + "*" * 78
        _missing_dovecot.append(True)
        if _in_ci():
            pytest.fail(banner + "\n(CI=true: a missing Dovecot is a failure, not a skip)", pytrace=False)
        pytest.skip(banner)
    server = dovecot_lib.DovecotServer()
    try:
        yield server
    finally:
        server.stop()


_user_numbers = itertools.count(1)


@pytest.fixture
def mailbox(dovecot: dovecot_lib.DovecotServer, request: pytest.FixtureRequest) -> dovecot_lib.Mailbox:
    """A fresh user for this test only."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40] or "t"
    username = f"u{next(_user_numbers)}-{stem}"
    password = dovecot.add_user(username)
    return dovecot_lib.Mailbox(dovecot, username, password)


# ------------------------------------------------------------------- helpers


def append(mailbox: dovecot_lib.Mailbox, folder: str, data: bytes | str, flags: Sequence[str | bytes] = ()) -> int | None:
    """APPEND ``data`` to ``folder``; returns the new message's UID."""
    return mailbox.append(folder, data, flags)


def fetch_flags(
    mailbox: dovecot_lib.Mailbox, folder: str = "INBOX", uids=None, recent: bool = False
) -> dict[int, tuple[bytes, ...]]:
    """{uid: flags} of ``folder`` (read-only: does not change \\Seen; \\Recent left out
    unless recent=True)."""
    return mailbox.fetch_flags(folder, uids, recent)


def count(mailbox: dovecot_lib.Mailbox, folder: str = "INBOX") -> int:
    """Number of messages in ``folder``."""
    return mailbox.count(folder)


# -------------------------------------------------------------- config file


@dataclass
class AssistantConfig:
    path: Path
    password: str = field(repr=False)
    state_dir: Path
    env_var: str
    mailbox: dovecot_lib.Mailbox
    account: str = "main"

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


@pytest.fixture
def config_file(
    mailbox: dovecot_lib.Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Factory: ``config_file(**overrides)`` -> AssistantConfig.

    Keyword arguments (all optional):
      mailbox        another Mailbox (default: the test's ``mailbox``)
      security       "tls" (default, port_tls) | "starttls" | "none" (port_plain)
      port           override the port
      folders        default ["INBOX"]
      drafts_folder  default "" (found by SPECIAL-USE)
      password_command, username, ca_file, name, email, account ("main")
      imap           dict of further [accounts.<account>.imap] keys
      extra          TOML text appended as-is (other sections)
      set_password   False: do not set ASSISTANT_PASSWORD_<ACCOUNT>
      filename       default "assistant.toml" (in tmp_path)
    """
    made = itertools.count()

    def make(
        *,
        mailbox: dovecot_lib.Mailbox = mailbox,
        security: str = "tls",
        port: int | None = None,
        folders: Sequence[str] = ("INBOX",),
        drafts_folder: str = "",
        password_command: str = "",
        username: str | None = None,
        ca_file: str | None = None,
        name: str = "Jordan Rivera",
        email: str = "jordan.rivera@example.com",
        account: str = "main",
        imap: dict[str, Any] | None = None,
        extra: str = "",
        set_password: bool = True,
        filename: str | None = None,
    ) -> AssistantConfig:
        n = next(made)
        state_dir = tmp_path / ("state" if n == 0 else f"state{n}")
        if port is None:
            port = mailbox.port_tls if security == "tls" else mailbox.port_plain
        imap_keys: dict[str, Any] = {
            "host": mailbox.host,
            "port": port,
            "security": security,
            "ca_file": mailbox.ca_file if ca_file is None else ca_file,
            "username": mailbox.username if username is None else username,
            "password_command": password_command,
            "folders": list(folders),
            "drafts_folder": drafts_folder,
        }
        imap_keys.update(imap or {})
        lines = [
            f"[accounts.{_toml_key(account)}]",
            f"name = {_toml_value(name)}",
            f"email = {_toml_value(email)}",
            "",
            f"[accounts.{_toml_key(account)}.imap]",
            *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in imap_keys.items()),
            "",
            "[state]",
            f"dir = {_toml_value(str(state_dir))}",
            "",
        ]
        if extra:
            lines.append(extra.strip() + "\n")
        path = tmp_path / (filename or ("assistant.toml" if n == 0 else f"assistant{n}.toml"))
        path.write_text("\n".join(lines))
        env_var = "ASSISTANT_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", account.upper())
        if set_password:
            monkeypatch.setenv(env_var, mailbox.password)
        return AssistantConfig(
            path=path,
            password=mailbox.password,
            state_dir=state_dir,
            env_var=env_var,
            mailbox=mailbox,
            account=account,
        )

    return make


@pytest.fixture
def sending_account(mailbox, config_file, smtp_server):  # noqa: F811  (the fixture, imported above)
    """An introduction scanned: two drafts in Drafts, SMTP configured, save_sent on."""
    cfg = config_file(imap={"save_sent": True}, extra=smtp_server.toml())
    mailbox.append("INBOX", introduction(msgid="<intro-1@test.example>"))
    cli_run.run(cfg, "scan")
    return cfg, mailbox, smtp_server
