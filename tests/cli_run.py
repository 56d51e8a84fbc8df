"""Running the command line as a user does: a real process, its output and exit code."""

from __future__ import annotations

import os
import subprocess
import sys


def run(config, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`assistant --config CONFIG ARGS...`; with `check`, a non-zero exit fails the test with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--config", str(config), *args],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}")
    return done
