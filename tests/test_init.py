"""`assistant init` writes a working config and keeps the password in the keyring."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)


def _run(args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, env=env)


def test_init_writes_the_config_and_keeps_the_password_in_the_keyring(tmp_path, mailbox):
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="file_keyring.FileKeyring", TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
               PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("ASSISTANT_PASSWORD_MAIN", None)
    config = tmp_path / "conf" / "config.toml"
    done = _run(["--config", str(config), "init", "--name", "Jordan Rivera", "--email", "jordan.rivera@example.com",
                 "--host", mailbox.host, "--port", str(mailbox.port_tls), "--username", mailbox.username],
                env, stdin=mailbox.password + "\n")
    assert done.returncode == 0, done.stderr
    assert mailbox.password not in done.stdout + done.stderr  # the prompt does not echo it
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert f'host = "{mailbox.host}"' in text and "# " in text  # the commented example, filled in
    assert mailbox.password not in text
    stored = json.loads((tmp_path / "keyring.json").read_text())
    assert stored == {f"assistant:main:imap|{mailbox.username}": mailbox.password}

    # The written config, plus the test CA, logs in with the password from the keyring.
    text = text.replace('ca_file = ""', f'ca_file = "{mailbox.ca_file}"', 1)
    text = text.replace('dir = ""', f'dir = "{tmp_path / "state"}"', 1)
    config.write_text(text)
    doctor = _run(["--config", str(config), "doctor"], env)
    assert "password for" in doctor.stdout and "from keyring" in doctor.stdout
    assert doctor.returncode == 0 and "FAIL" not in doctor.stdout


def test_init_refuses_to_overwrite(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("# mine\n")
    done = _run(["--config", str(config), "init", "--name", "J", "--email", "j@example.com", "--host", "h",
                 "--no-password"], dict(os.environ))
    assert done.returncode == 2 and "exists already" in done.stderr
    assert config.read_text() == "# mine\n"
