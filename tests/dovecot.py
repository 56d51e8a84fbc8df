"""A private Dovecot IMAP server for the tests and the benchmarks.

    from dovecot import DovecotServer          # tests/ is on sys.path under pytest

    with DovecotServer() as server:
        server.add_user("jordan", "secret")
        server.host, server.port_tls, server.port_plain, server.ca_file
        server.maildir("jordan")               # .../mail/jordan/Maildir (INBOX)
        server.maildir("jordan", "Archive")    # .../mail/jordan/Maildir/Archive

Everything lives in one temporary directory (``server.root``) and nothing of the
system's Dovecot (/etc/dovecot, /run/dovecot, /var/lib/dovecot, the system service) is
read or touched:

  dovecot.conf   written here, the only config (``dovecot -F -c dovecot.conf``)
  run/           base_dir (sockets, master.pid, login chroot)
  state/         state_dir
  dovecot.log    every log line (errors, info, auth failures)
  ca.pem         a throw-away CA made at start; clients verify with ``ca_file=ca.pem``
  server.pem     server certificate for 127.0.0.1 / localhost, signed by that CA
  server.key     its key (0600)
  users.d/NAME   one passwd-file per user (``name:{PLAIN}password``): a new user is a new
                 file, so ``add_user`` takes effect at once while the server runs
                 (Dovecot re-checks a changed passwd-file at most once a second)
  mail/USER/Maildir   the mail, Maildir with LAYOUT=fs and "/" as the separator:
                 INBOX is Maildir/ itself, folder "A/B" is Maildir/A/B/

Choices, and why:

* Two listeners on 127.0.0.1 on free ports: ``port_tls`` (implicit TLS, "imaps") and
  ``port_plain`` (clear text with STARTTLS offered).  ``disable_plaintext_auth = no`` so
  a client may also log in without TLS when it explicitly asks for security="none".
* Mailboxes INBOX, Drafts (\\Drafts), Sent (\\Sent) and Archive (\\Archive) are
  auto-created and subscribed for every user (``mailboxes=`` changes that list).
* Capabilities are Dovecot 2.3's defaults, which after login already include IDLE,
  CONDSTORE, QRESYNC, SPECIAL-USE, UIDPLUS, MOVE (and LITERAL+, ESEARCH, ...).  Before
  login Dovecot advertises a short list only; ask CAPABILITY again after LOGIN.
* As root: Dovecot's own system users do the internal work (``dovecot``) and the
  login processes (``dovenull``), as in Debian's package; every virtual mail user is
  mapped to ``nobody:nogroup`` (uid 65534), a real unprivileged uid that exists on every
  Debian machine, and ``mail/`` is owned by it.  Not root: everything runs as the
  current user (login chroots off).
* Fast and test friendly: no delay after a failed login (auth_failure_delay = 0), no
  growing auth penalty (anvil-auth-penalty socket mode 0, Dovecot's documented switch),
  mail_fsync = never, IDLE checks every second, 200 connections per user and IP.
* ``stop()`` sends SIGTERM to the master and then SIGKILL to the whole process group
  (Dovecot runs in its own session), so no process outlives the server; it also runs at
  interpreter exit, and if the Python process is killed outright Dovecot gets SIGTERM
  from the kernel (PR_SET_PDEATHSIG).  A failed start raises DovecotError with the tail
  of Dovecot's log and keeps the directory for inspection.

``Mailbox(server, user, password)`` wraps one user with imapclient helpers: connect()
append() fetch_flags() count() fetch_messages() (the ``mailbox`` fixture is one).

The TLS material is made with the ``cryptography`` package when it can be imported,
else with the ``openssl`` command.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import ipaddress
import os
import pwd
import grp
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "DovecotError",
    "DovecotServer",
    "find_dovecot",
    "free_port",
    "maildir_filename",
]

DEFAULT_MAILBOXES: tuple[tuple[str, str], ...] = (
    ("Drafts", "\\Drafts"),
    ("Sent", "\\Sent"),
    ("Archive", "\\Archive"),
)

_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")  # Dovecot auth_username_chars


class DovecotError(RuntimeError):
    """Dovecot is missing or could not be started."""


def find_dovecot() -> str | None:
    """The path of the dovecot binary, or None when it is not installed.
    $DOVECOT_BINARY overrides the search (a path that is not executable: "missing")."""
    override = os.environ.get("DOVECOT_BINARY")
    if override:
        return override if os.access(override, os.X_OK) else None
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


_counter = 0


def maildir_filename(data: bytes, flags: str = "") -> str:
    """A Maildir file name for ``data`` in cur/, with S= and W= sizes so Dovecot never
    has to read the file to answer RFC822.SIZE.  ``flags`` are Maildir info letters
    (e.g. "S" seen, "F" flagged, "RS" answered+seen), sorted as Maildir wants."""
    global _counter
    _counter += 1
    virtual = len(data) + data.count(b"\n") - data.count(b"\r\n")
    now = time.time()
    return (
        f"{int(now)}.M{_counter % 1000000:06d}P{os.getpid()}Q{_counter}.assistant-test,"
        f"S={len(data)},W={virtual}:2,{''.join(sorted(set(flags)))}"
    )


# --------------------------------------------------------------------------- TLS


def _make_tls_cryptography(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.timezone.utc)
    start, end = now - _dt.timedelta(days=1), now + _dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "assistant test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem))
    key_path = directory / "server.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _make_tls_openssl(directory: Path) -> None:
    openssl = shutil.which("openssl")
    if not openssl:
        raise DovecotError("cannot make TLS certificates: neither 'cryptography' nor 'openssl' is available")

    def run(*args: str) -> None:
        proc = subprocess.run([openssl, *args], cwd=directory, capture_output=True, text=True)
        if proc.returncode:
            raise DovecotError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")

    (directory / "ca.ext").write_text(
        "basicConstraints=critical,CA:TRUE,pathlen:0\n"
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature\n"
        "subjectKeyIdentifier=hash\n"
    )
    (directory / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyAgreement\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-new", "-x509", "-key", "ca.key", "-subj", "/CN=assistant test CA",
        "-days", "30", "-out", "ca.pem", "-extensions", "v3_ca", "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0", "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key")
    run("req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "30", "-extfile", "server.ext", "-out", "server.pem")
    os.chmod(directory / "server.key", 0o600)
    for leftover in ("ca.key", "server.csr", "ca.srl", "ca.ext", "server.ext"):
        (directory / leftover).unlink(missing_ok=True)


def make_tls(directory: Path) -> None:
    """Write ca.pem, server.pem and server.key into ``directory``."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _make_tls_openssl(directory)
    else:
        _make_tls_cryptography(directory)


# ------------------------------------------------------------------------ server


class DovecotServer:
    """A Dovecot of its own on 127.0.0.1; also a context manager.

    ``users`` is a mapping name -> password (or a sequence of (name, password)) created
    before the start; more can be added with ``add_user`` at any time.
    ``root`` is the directory to use (made if missing; it must be empty or absent);
    default: a new temporary directory, removed by ``stop()``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        users: dict[str, str] | Sequence[tuple[str, str]] | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        start: bool = True,
        start_timeout: float = 20.0,
        keep: bool = False,
        mailboxes: Sequence[tuple[str, str]] = DEFAULT_MAILBOXES,
    ) -> None:
        binary = find_dovecot()
        if binary is None:
            raise DovecotError(
                "Dovecot not installed: run 'sudo apt-get install dovecot-imapd'"
            )
        self.binary = binary
        self._own_root = root is None
        if root is None:
            self.root = Path(tempfile.mkdtemp(prefix="assistant-dovecot-", dir=_reachable_tmp()))
        else:
            self.root = Path(root).absolute()
            self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.mailboxes = tuple(mailboxes)
        self.start_timeout = start_timeout
        self.conf_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.users_path = self.root / "users.d"
        self.mail_root = self.root / "mail"
        self.ca_file = str(self.root / "ca.pem")
        self.port_tls = 0
        self.port_plain = 0
        self.users: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False

        if os.geteuid() == 0:
            self.as_root = True
            self.mail_uid = pwd.getpwnam("nobody").pw_uid
            try:
                self.mail_gid = grp.getgrnam("nogroup").gr_gid
            except KeyError:
                self.mail_gid = pwd.getpwnam("nobody").pw_gid
            self.internal_user = "dovecot"
            self.login_user = "dovenull"
            for name in (self.internal_user, self.login_user):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    raise DovecotError(
                        f"system user {name!r} is missing; reinstall dovecot-core "
                        "(apt-get install --reinstall dovecot-core)"
                    ) from None
        else:
            self.as_root = False
            self.mail_uid = os.getuid()
            self.mail_gid = os.getgid()
            self.internal_user = self.login_user = pwd.getpwuid(os.getuid()).pw_name

        if users:
            items = users.items() if isinstance(users, dict) else users
            for name, password in items:
                self.add_user(name, password)
        if start:
            self.start()

    # -- context manager

    def __enter__(self) -> "DovecotServer":
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"<DovecotServer {self.host} tls={self.port_tls} plain={self.port_plain} "
            f"root={self.root}>"
        )

    # -- users and mail

    def add_user(self, name: str, password: str | None = None) -> str:
        """Add (or replace) a user; returns its password (made up when None).
        Works while the server runs: Dovecot re-reads the passwd-file on change."""
        if not _USER_RE.match(name):
            raise ValueError(f"bad user name for the test server: {name!r}")
        if password is None:
            password = secrets.token_urlsafe(12)
        if any(c in password for c in ":\n\r"):
            raise ValueError("the password may not contain ':' or a line break")
        replacing = name in self.users
        self.users[name] = password
        self._write_user(name, password)
        if replacing and self.running():
            time.sleep(1.1)  # Dovecot re-checks a known passwd-file at most once a second
        return password

    def _write_user(self, name: str, password: str) -> None:
        self.users_path.mkdir(mode=0o755, exist_ok=True)
        tmp = self.users_path / f".{name}.tmp"
        tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        os.chmod(tmp, 0o644)  # read by the auth process (user dovecot); test passwords only
        os.replace(tmp, self.users_path / name)

    def home(self, user: str) -> Path:
        return self.mail_root / user

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The Maildir of ``folder`` (INBOX is the Maildir root; "A/B" is Maildir/A/B)."""
        base = self.home(user) / "Maildir"
        if folder.upper() == "INBOX":
            return base
        return base.joinpath(*folder.split("/"))

    def _ensure_dir(self, path: Path) -> None:
        """mkdir -p owned by the mail uid, for the parts under mail/."""
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir(mode=0o700)
            if self.as_root:
                os.chown(d, self.mail_uid, self.mail_gid)

    def deliver(
        self,
        user: str,
        messages: Iterable[bytes],
        folder: str = "INBOX",
        flags: str = "",
    ) -> int:
        """Write messages straight into ``folder``'s Maildir (cur/, with ``flags`` as
        Maildir letters: "S" seen, "F" flagged, "R" answered, "D" draft).  Much faster
        than APPEND for big mailboxes; Dovecot gives them UIDs when the folder is next
        opened, in the order given.  A missing folder is created (it is listed by
        LIST, not subscribed).  Returns the count."""
        box = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            self._ensure_dir(box / sub)
        cur = box / "cur"
        n = 0
        for data in messages:
            path = cur / maildir_filename(data, flags)
            with open(path, "wb") as fh:
                fh.write(data)
            if self.as_root:
                os.chown(path, self.mail_uid, self.mail_gid)
            n += 1
        return n

    # -- life cycle

    def _config(self) -> str:
        r = self.root
        mailboxes = "\n".join(
            f"  mailbox {name} {{\n    auto = subscribe\n    special_use = {use}\n  }}"
            for name, use in self.mailboxes
        )
        # Without root there is no chroot (and no other users to switch to).
        no_chroot = "" if self.as_root else "  chroot =\n"
        return f"""# Written by tests/dovecot.py -- a private server for the tests; not the system's.
instance_name = dovecot-assistant-test
base_dir = {r}/run
state_dir = {r}/state
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes

log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
auth_verbose = yes
auth_verbose_passwords = no
log_timestamp = "%Y-%m-%d %H:%M:%S "

default_internal_user = {self.internal_user}
default_internal_group = {_primary_group(self.internal_user)}
default_login_user = {self.login_user}
first_valid_uid = {min(self.mail_uid, 500)}
last_valid_uid = 0
first_valid_gid = 1

ssl = yes
ssl_cert = <{r}/server.pem
ssl_key = <{r}/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_path}/%u
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={self.mail_root}/%u
}}

mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
mailbox_idle_check_interval = 1 secs
mail_max_userip_connections = 200
mail_plugins =

namespace inbox {{
  inbox = yes
  separator = /
  prefix =
{mailboxes}
}}

protocol imap {{
  mail_max_userip_connections = 200
  imap_idle_notify_interval = 1 secs
}}

service imap-login {{
{no_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port_plain}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port_tls}
    ssl = yes
  }}
}}
service anvil {{
{no_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def start(self) -> None:
        if self._proc is not None:
            raise DovecotError("already started")
        r = self.root
        if not (r / "ca.pem").exists():
            make_tls(r)
        if self.as_root:
            _check_traversable(r, self.mail_uid)
            os.chmod(r, 0o755)
        self.mail_root.mkdir(exist_ok=True)
        if self.as_root:
            os.chown(self.mail_root, self.mail_uid, self.mail_gid)
        os.chmod(self.mail_root, 0o755)
        self.users_path.mkdir(mode=0o755, exist_ok=True)

        last_error: DovecotError | None = None
        for _attempt in range(3):  # a free port may be taken between the pick and the bind
            self.port_plain = free_port(self.host)
            self.port_tls = free_port(self.host)
            while self.port_tls == self.port_plain:
                self.port_tls = free_port(self.host)
            try:
                self._start_once()
                break
            except DovecotError as err:
                last_error = err
                self._kill()
                if "in use" not in str(err):
                    raise
        else:
            assert last_error is not None
            raise last_error
        atexit.register(self.stop)

    def _start_once(self) -> None:
        self.conf_path.write_text(self._config())
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C"}
        stdio = open(self.root / "dovecot.stdout", "ab")
        try:
            self._proc = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=stdio,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills it whole
                preexec_fn=_die_with_parent,  # and it goes when this process dies, even by SIGKILL
                env=env,
            )
        finally:
            stdio.close()
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise DovecotError(
                    f"dovecot exited with status {code} while starting\n" + self._diagnostics(log_offset)
                )
            if self._greets(self.port_plain) and self._greets(self.port_tls, tls=True):
                return
            if time.monotonic() > deadline:
                raise DovecotError(
                    f"dovecot did not answer on 127.0.0.1:{self.port_plain}/{self.port_tls} "
                    f"within {self.start_timeout:.0f}s\n" + self._diagnostics(log_offset)
                )
            time.sleep(0.05)

    def _greets(self, port: int, tls: bool = False) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=2) as sock:
                if tls:
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                    with ctx.wrap_socket(sock, server_hostname=self.host) as tsock:
                        return tsock.recv(200).startswith(b"* OK")
                return sock.recv(200).startswith(b"* OK")
        except (OSError, ssl.SSLError):
            return False

    def _diagnostics(self, log_offset: int = 0) -> str:
        parts = []
        for path, offset in ((self.log_path, log_offset), (self.root / "dovecot.stdout", 0)):
            try:
                data = path.read_bytes()[offset:]
            except OSError:
                continue
            lines = data.decode("utf-8", "replace").splitlines()[-40:]
            if lines:
                parts.append(f"--- last lines of {path} ---\n" + "\n".join(lines))
        parts.append(f"--- config: {self.conf_path} (the directory is kept for inspection) ---")
        return "\n".join(parts) or "(Dovecot wrote no log)"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the group id is the master's pid
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)  # the master stops its children itself
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)  # anything left in the group
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        # children re-parented to init are still in the group: wait for them to go
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                break
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop Dovecot (all its processes) and remove the temporary directory when it
        was made by this object (unless keep=True).  Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        self._kill()
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover
            pass
        if self._own_root and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def _group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process is in the process group ``pgid``."""
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc: ask the kernel (a zombie counts as alive here)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields: state ppid pgrp ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the parent dies (Linux prctl)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _reachable_tmp() -> str | None:
    """The temp dir to use: the default one unless, as root, the mail user (nobody)
    cannot reach it (e.g. TMPDIR under /root); then /tmp or /var/tmp."""
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody").pw_uid
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        try:
            _check_traversable(Path(candidate) / "x", nobody)
        except (DovecotError, OSError):
            continue
        return candidate
    return None


def _primary_group(user: str) -> str:
    try:
        return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    except KeyError:
        return user


def _check_traversable(path: Path, uid: int) -> None:
    """The mail uid must reach ``path``: every parent needs o+x (we are root; the
    mail processes run as ``nobody``)."""
    for parent in list(path.parents)[:-1]:
        st = parent.stat()
        if st.st_uid == uid:
            continue
        if not st.st_mode & 0o001:
            raise DovecotError(
                f"{parent} is not searchable by uid {uid} (the mail user), so Dovecot cannot "
                f"reach {path}; use a directory under /tmp (or chmod o+x {parent})"
            )


# ----------------------------------------------------------------- a test user


class Mailbox:
    """One user on a DovecotServer, with small IMAP helpers (imapclient)."""

    def __init__(self, server: DovecotServer, username: str, password: str) -> None:
        self.server = server
        self.username = username
        self.password = password

    host = property(lambda self: self.server.host)
    port_tls = property(lambda self: self.server.port_tls)
    port_plain = property(lambda self: self.server.port_plain)
    ca_file = property(lambda self: self.server.ca_file)

    def __repr__(self) -> str:
        return f"<Mailbox {self.username} on {self.server.host}:{self.server.port_tls}>"

    def maildir(self, folder: str = "INBOX") -> Path:
        return self.server.maildir(self.username, folder)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def connect(self, security: str = "tls", login: bool = True, timeout: float = 10.0):
        """An imapclient.IMAPClient, logged in unless login=False.
        security: "tls" (implicit TLS), "starttls" or "none"."""
        import imapclient

        if security == "tls":
            client = imapclient.IMAPClient(
                self.host, port=self.port_tls, ssl=True, ssl_context=self.ssl_context(), timeout=timeout
            )
        elif security in ("starttls", "none"):
            client = imapclient.IMAPClient(self.host, port=self.port_plain, ssl=False, timeout=timeout)
            if security == "starttls":
                client.starttls(self.ssl_context())
        else:
            raise ValueError(f"security must be tls, starttls or none, not {security!r}")
        if login:
            client.login(self.username, self.password)
        return client

    def append(self, folder: str, message: bytes | str, flags: Sequence[str | bytes] = (), msg_time=None) -> int | None:
        """APPEND a message; returns its UID (from UIDPLUS' APPENDUID)."""
        if isinstance(message, str):
            message = message.encode()
        client = self.connect()
        try:
            resp = client.append(folder, message, flags=tuple(flags), msg_time=msg_time)
        finally:
            _logout(client)
        m = re.search(rb"APPENDUID \d+ (\d+)", resp if isinstance(resp, bytes) else str(resp).encode())
        return int(m.group(1)) if m else None

    def fetch_flags(
        self, folder: str = "INBOX", uids: Iterable[int] | None = None, recent: bool = False
    ) -> dict[int, tuple[bytes, ...]]:
        """{uid: flags} of the folder (all messages, or ``uids``), read-only (EXAMINE, so
        \\Seen is not set).  The session flag \\Recent is left out unless recent=True."""
        client = self.connect()
        try:
            client.select_folder(folder, readonly=True)
            wanted = list(uids) if uids is not None else client.search("ALL")
            if not wanted:
                return {}
            data = client.fetch(wanted, ["FLAGS"])
            return {
                uid: tuple(f for f in item[b"FLAGS"] if recent or f.lower() != b"\\recent")
                for uid, item in data.items()
            }
        finally:
            _logout(client)

    def count(self, folder: str = "INBOX") -> int:
        """How many messages ``folder`` holds (STATUS MESSAGES)."""
        client = self.connect()
        try:
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])
        finally:
            _logout(client)

    def fetch_messages(self, folder: str = "INBOX") -> dict[int, bytes]:
        """{uid: raw message} of the folder, read-only (BODY.PEEK[])."""
        client = self.connect()
        try:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return {}
            data = client.fetch(uids, ["BODY.PEEK[]"])
            return {uid: item[b"BODY[]"] for uid, item in data.items()}
        finally:
            _logout(client)


def _logout(client) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            pass
