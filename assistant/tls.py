"""Connections to mail servers: the TLS context and what to tell a user when connecting fails.

Shared by the IMAP source and the SMTP sender, so both verify certificates the same way
and explain the same failure in the same words.
"""

from __future__ import annotations

import socket
import ssl


def ssl_context(ca_file: str) -> ssl.SSLContext:
    """Certificate and host name verified; `ca_file` adds a CA to trust (self-hosted servers, tests)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def hint_for(exc: BaseException) -> str:
    """A short reason, and where it helps what to do, for a failed connection."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message}); for a self-hosted server set ca_file"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: is the port right?"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    return str(exc) or type(exc).__name__
