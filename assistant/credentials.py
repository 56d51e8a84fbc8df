"""Passwords: the OS keyring first, then `password_command`, then the environment.

A password is held only in memory, never logged, never put in an exception message.
Headless machines without a keyring backend are told which fallback to use.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
from dataclasses import dataclass

from .errors import CredentialError

log = logging.getLogger(__name__)
SERVICE = "assistant"


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str
    source: str  # "keyring", "password_command" or the environment variable's name

    def __repr__(self) -> str:  # never show the password, even in a traceback's locals
        return f"Credential(username={self.username!r}, source={self.source!r})"


def env_var(account: str, protocol: str = "imap") -> str:
    """ASSISTANT_PASSWORD_MAIN for IMAP, ASSISTANT_SMTP_PASSWORD_MAIN for SMTP."""
    suffix = re.sub(r"[^A-Za-z0-9]", "_", account).upper()
    return f"ASSISTANT_PASSWORD_{suffix}" if protocol == "imap" else f"ASSISTANT_SMTP_PASSWORD_{suffix}"


def keyring_key(account: str, protocol: str = "imap") -> str:
    return f"{account}:{protocol}"


def _from_keyring(account: str, protocol: str, username: str) -> tuple[str | None, str | None]:
    """(password, why not) from the keyring; a missing backend is a reason, not an error."""
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None, "keyring is not installed"
    try:
        value = keyring.get_password(f"{SERVICE}:{keyring_key(account, protocol)}", username)
    except NoKeyringError:
        return None, "no keyring backend on this machine"
    except KeyringError as exc:
        return None, f"keyring failed: {type(exc).__name__}"
    return value, None if value else "no entry in the keyring"


def _from_command(command: str) -> str:
    try:
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise CredentialError(f"password_command failed to run: {type(exc).__name__}") from None
    if done.returncode != 0:
        raise CredentialError(f"password_command exited with {done.returncode} (its output is not shown)")
    password = done.stdout.rstrip("\r\n")
    if not password:
        raise CredentialError("password_command printed nothing")
    return password


def find(account: str, username: str, password_command: str = "", protocol: str = "imap") -> Credential:
    """The password for account/protocol, from the first source that has one."""
    password, why_not = _from_keyring(account, protocol, username)
    if password:
        return Credential(username, password, "keyring")
    if password_command:
        return Credential(username, _from_command(password_command), "password_command")
    name = env_var(account, protocol)
    if os.environ.get(name):
        return Credential(username, os.environ[name], name)
    raise CredentialError(
        f"no {protocol.upper()} password for account {account!r} ({why_not}). "
        f"Run 'assistant init' to store it in the keyring, or set password_command in the config "
        f"(e.g. \"pass show mail\"), or set the environment variable {name}."
    )


def store(account: str, username: str, password: str, protocol: str = "imap") -> None:
    """Save a password in the keyring; explain the fallbacks where there is none."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        keyring.set_password(f"{SERVICE}:{keyring_key(account, protocol)}", username, password)
    except (NoKeyringError, KeyringError) as exc:
        raise CredentialError(
            f"cannot store the password in a keyring ({type(exc).__name__}): on a headless machine set "
            f"password_command in the config, or the environment variable {env_var(account, protocol)}"
        ) from None
