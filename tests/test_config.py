"""Config: TOML plus environment overrides; every problem names the file, the key and why."""

from __future__ import annotations

import textwrap

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError

GOOD = """
[accounts.main]
name = "Jordan Rivera"
email = "Jordan.Rivera@example.com"
[accounts.main.imap]
host = "imap.example.com"
"""


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_and_normalised_address(tmp_path):
    settings, path = load_settings(write(tmp_path, GOOD))
    account = settings.accounts["main"]
    assert account.email == "jordan.rivera@example.com"
    assert (account.imap.port, account.imap.security, account.imap.folders) == (993, "tls", ["INBOX"])
    assert path == tmp_path / "config.toml"


def test_environment_overrides_a_nested_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_ACCOUNTS__MAIN__IMAP__PORT", "1993")
    settings, _ = load_settings(write(tmp_path, GOOD))
    assert settings.accounts["main"].imap.port == 1993


def test_config_path_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_CONFIG", str(write(tmp_path, GOOD)))
    settings, _ = load_settings()
    assert "main" in settings.accounts


@pytest.mark.parametrize(
    "extra, key, reason",
    [
        ('port = 99999', "accounts.main.imap.port", "less than or equal to 65535"),
        ('security = "ssl"', "accounts.main.imap.security", "'tls', 'starttls' or 'none'"),
        ('colour = "blue"', "accounts.main.imap.colour", "unknown key"),
        ('ca_file = "/no/such/ca.pem"', "accounts.main.imap.ca_file", "no such file"),
    ],
)
def test_a_bad_value_names_file_key_and_reason(tmp_path, extra, key, reason):
    path = write(tmp_path, GOOD + extra + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert str(path) in message and key in message and reason in message


def test_a_bad_environment_override_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_ACCOUNTS__MAIN__IMAP__PORT", "http")
    with pytest.raises(ConfigError, match="from environment variable ASSISTANT_ACCOUNTS__MAIN__IMAP__PORT"):
        load_settings(write(tmp_path, GOOD))


def test_an_account_needs_exactly_one_source(tmp_path):
    path = write(tmp_path, GOOD + '[accounts.main.maildir]\npath = "/tmp/mail"\n')
    with pytest.raises(ConfigError, match="exactly one of"):
        load_settings(path)


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[accounts.main\n"))
    with pytest.raises(ConfigError, match="no config file"):
        load_settings(tmp_path / "absent.toml")


def test_the_example_config_is_valid_and_complete(tmp_path):
    from importlib import resources

    example = resources.files("assistant").joinpath("config.example.toml").read_text()
    settings, _ = load_settings(write(tmp_path, example))
    account = settings.accounts["main"]
    # Every key of every section is shown in the example.
    for section, model in (("imap", account.imap), ("schedule", settings.schedule), ("drafts", settings.drafts),
                           ("state", settings.state), ("rules", settings.rules)):
        for key in type(model).model_fields:
            assert f"\n{key} =" in example or f"\n# {key} =" in example, f"{section}.{key} missing from the example"
