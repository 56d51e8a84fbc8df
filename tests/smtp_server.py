"""A real SMTP submission server for the tests: aiosmtpd on 127.0.0.1, on a free port,
with TLS (a CA and certificate made at test time) and AUTH (PLAIN/LOGIN, one user).

    from smtp_server import SmtpServer, smtp_server   # the fixture: implicit TLS (465-style)

    server.host, server.port, server.ca_file, server.username, server.password
    server.security                "tls" (implicit) or "starttls"
    server.messages                [Received(mail_from, rcpt_tos, data)] in arrival order
    server.reject_data = "554 5.7.1 no"   the next DATA is refused with this reply
    server.drop_after_data = True  the next message is taken, then the connection drops unanswered
    server.toml(account="main")    the [accounts.NAME.smtp] section for this server

AUTH is only offered over TLS (aiosmtpd's auth_require_tls), as a real submission
server does; a client that skips certificate verification fails the test by design.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from dovecot import free_port, make_tls


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.reject_data: str | None = None
        self.drop_after_data = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.drop_after_data:  # took the message, then the line dropped before the reply
            self.drop_after_data = False
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
            server.transport.abort()
            return "250 2.0.0 OK queued"
        if self.reject_data:
            reply, self.reject_data = self.reject_data, None
            return reply
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content or envelope.content))
        return "250 2.0.0 OK queued"


class _ImplicitTLS(SMTP):
    """aiosmtpd counts only STARTTLS as encryption for auth_require_tls; a listener that
    is TLS from the first byte (port 465 style) is encrypted too."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if transport.get_extra_info("sslcontext") is not None:
            self._tls_protocol = transport  # any true value: "this session is encrypted"


class _Controller(Controller):
    def factory(self):
        return _ImplicitTLS(self.handler, **self.SMTP_kwargs)


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self, directory: Path | None = None, security: str = "tls") -> None:
        self.directory = Path(directory or tempfile.mkdtemp(prefix="assistant-smtp-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        if not (self.directory / "ca.pem").exists():
            make_tls(self.directory)
        self.ca_file = str(self.directory / "ca.pem")
        self.security = security
        self.username = "jordan@example.com"
        self.password = secrets.token_urlsafe(12)
        self.handler = _Handler()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.directory / "server.pem", self.directory / "server.key")
        self.port = free_port(self.host)
        kwargs = dict(hostname=self.host, port=self.port, authenticator=self._authenticate,
                      auth_require_tls=True, server_hostname="localhost")
        if security == "tls":
            kwargs["ssl_context"] = context
        else:
            kwargs.update(tls_context=context, require_starttls=True)
        self.controller = _Controller(self.handler, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.username.encode()
              and auth_data.password == self.password.encode())
        return AuthResult(success=ok, handled=False)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    @property
    def reject_data(self) -> str | None:
        return self.handler.reject_data

    @reject_data.setter
    def reject_data(self, value: str | None) -> None:
        self.handler.reject_data = value

    @property
    def drop_after_data(self) -> bool:
        return self.handler.drop_after_data

    @drop_after_data.setter
    def drop_after_data(self, value: bool) -> None:
        self.handler.drop_after_data = value

    def toml(self, account: str = "main") -> str:
        return (f"[accounts.{account}.smtp]\nhost = \"{self.host}\"\nport = {self.port}\n"
                f"security = \"{self.security}\"\nca_file = \"{self.ca_file}\"\nusername = \"{self.username}\"\n")

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """An SMTP server with implicit TLS and AUTH; ASSISTANT_SMTP_PASSWORD_MAIN is its password."""
    with SmtpServer(tmp_path / "smtp") as server:
        monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", server.password)
        yield server


@pytest.fixture
def starttls_server(tmp_path, monkeypatch):
    """The same with STARTTLS on a plain port (587-style)."""
    with SmtpServer(tmp_path / "smtp-starttls", security="starttls") as server:
        monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD_MAIN", server.password)
        yield server
