"""One exception root, with a subclass for each way a run can fail.

Library code raises these with a message a user can act on (host:port, file and key,
and a hint); only the CLI turns them into an exit code.  The codes are documented in
the README and stable for scripts.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Root of every error the assistant reports to the user."""

    exit_code = 1


class ConfigError(AssistantError):
    """The config file or an environment override is missing, unreadable or invalid."""

    exit_code = 2


class CredentialError(AssistantError):
    """No password could be found (keyring, password_command, environment)."""

    exit_code = 3


class ConnectError(AssistantError):
    """The server cannot be reached (DNS, refused, timeout)."""

    exit_code = 4


class TLSError(AssistantError):
    """The TLS handshake failed: untrusted certificate, wrong host name, no TLS."""

    exit_code = 5


class AuthError(AssistantError):
    """The server refused the login."""

    exit_code = 6


class MailboxError(AssistantError):
    """A folder is missing or the server refused a command on it."""

    exit_code = 7


class LockedError(AssistantError):
    """Another assistant run holds the state lock."""

    exit_code = 8


class NotFoundError(AssistantError):
    """A task, rule or template the user named does not exist."""

    exit_code = 9


class SendError(AssistantError):
    """Sending a draft failed; nothing was recorded as sent."""

    exit_code = 10


class SendUncertainError(SendError):
    """The connection failed while the server may already have taken the message: it stays
    "sending", and a retry looks in Sent first (or needs --force)."""
