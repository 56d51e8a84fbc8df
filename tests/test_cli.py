"""The command line: every command has help and is documented; errors become exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main

from assistant import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands():
    group = typer.main.get_command(cli.load_commands())
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for sub in subcommands:
                yield f"{name} {sub}"
        else:
            yield name


def test_every_command_has_help_and_is_in_the_readme():
    names = list(_commands())
    assert {"scan", "tasks", "classify", "init", "doctor"} <= set(names)
    for name in names:
        done = subprocess.run([sys.executable, "-m", "assistant", *name.split(), "--help"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Usage" in done.stdout, name
        assert f"assistant {name}" in README, f"'assistant {name}' is not documented in README.md"


def test_a_config_error_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[accounts.main]\nname = "J"\nemail = "not-an-address"\n[accounts.main.imap]\nhost = "h"\n')
    done = subprocess.run([sys.executable, "-m", "assistant", "--config", str(path), "scan"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "accounts.main.email" in done.stderr and "Traceback" not in done.stderr


def test_a_second_run_is_refused_while_one_holds_the_lock(tmp_path):
    from assistant.errors import LockedError
    from assistant.store import run_lock
    import pytest

    with run_lock(tmp_path):
        with pytest.raises(LockedError):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released after the first run ends
        pass
