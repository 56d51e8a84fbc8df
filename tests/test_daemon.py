"""`assistant watch`: new mail is scanned within seconds of arriving (IMAP IDLE), and SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sample_mail import introduction, personal


def _wait(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_watch_scans_new_mail_as_it_arrives(mailbox, config_file):
    cfg = config_file()
    mailbox.append("INBOX", personal())
    daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(cfg), "-v", "watch"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        # The first scan runs at start; mail arriving any time after is picked up.
        assert _wait((cfg.state_dir / "assistant.sqlite3").exists), "the daemon never scanned"
        mailbox.append("INBOX", introduction())
        assert _wait(lambda: mailbox.count("Drafts") == 2), "new mail was not scanned while idling"
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "1 new, 2 task(s), 2 draft(s)" in err
