"""Configuration: a TOML file validated by pydantic, with ASSISTANT_ environment overrides.

The file is `--config PATH`, else $ASSISTANT_CONFIG, else the XDG config path.  An
environment variable overrides a key of the file: ASSISTANT_ + the key path joined by
`__` (ASSISTANT_ACCOUNTS__MAIN__IMAP__PORT=1993).  Every problem becomes a ConfigError
that names the file, the key and the reason.
"""

from __future__ import annotations

import os
import re
import tomllib
from contextvars import ContextVar
from datetime import time
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import ConfigError

APP = "assistant"
ENV_PREFIX = "ASSISTANT_"
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value.lower()


class ImapSettings(_Section):
    host: str = Field(min_length=1)
    port: int = Field(993, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    ca_file: str = ""  # an extra CA certificate to trust (self-hosted servers, tests)
    username: str = ""  # empty: the account's email
    password_command: str = ""  # a command whose stdout is the password (like mbsync's PassCmd)
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], min_length=1)
    drafts_folder: str = ""  # empty: the folder with SPECIAL-USE \Drafts, else a common name
    sent_folder: str = ""  # empty: the folder with SPECIAL-USE \Sent, else a common name
    save_sent: bool = False  # append a copy to Sent after sending (servers like Gmail do it themselves)
    timeout: float = Field(30.0, gt=0)
    batch_size: int = Field(1000, ge=1, le=10000)

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: str) -> str:
        if value and not Path(value).expanduser().is_file():
            raise ValueError(f"no such file: {value}")
        return value


class MaildirSettings(_Section):
    path: str = Field(min_length=1)  # the Maildir++ root; INBOX is the root itself
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], min_length=1)
    drafts_folder: str = "Drafts"
    sent_folder: str = "Sent"


class SmtpSettings(_Section):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "starttls"
    ca_file: str = ""
    username: str = ""  # empty: the IMAP username, else the account's email
    password_command: str = ""
    timeout: float = Field(30.0, gt=0)


class AccountSettings(_Section):
    name: str = Field(min_length=1)  # the user, as drafts sign
    email: str  # "me"
    aliases: list[str] = Field(default_factory=list)  # other addresses that are also me
    signature: str = ""  # appended to every draft
    imap: ImapSettings | None = None
    maildir: MaildirSettings | None = None
    smtp: SmtpSettings | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _check_email(value)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, values: list[str]) -> list[str]:
        return [_check_email(v) for v in values]

    @model_validator(mode="after")
    def _one_source(self) -> AccountSettings:
        if (self.imap is None) == (self.maildir is None):
            raise ValueError("set exactly one of [imap] or [maildir] for the account")
        return self

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset([self.email, *self.aliases])

    @property
    def folders(self) -> list[str]:
        """The folders to scan, from whichever source the account reads."""
        return self.imap.folders if self.imap is not None else self.maildir.folders  # type: ignore[union-attr]

    @property
    def batch_size(self) -> int:
        return self.imap.batch_size if self.imap is not None else 1000


class StateSettings(_Section):
    dir: str = ""  # empty: the XDG state path


class ScheduleSettings(_Section):
    timezone: str = ""  # IANA name ("Europe/Berlin"); empty: this machine's zone
    workday_start: time = time(9, 0)
    workday_end: time = time(17, 30)
    working_days: list[str] = Field(default_factory=lambda: list(_DAYS[:5]), min_length=1)
    late_due: time = time(12, 0)  # mail after hours is due at this time of the next working day
    thank_within_hours: float = Field(3.0, gt=0)  # working hours to thank a referrer
    nudge_after_days: int = Field(5, ge=1)  # working days without a reply before a nudge
    max_nudges: int = Field(2, ge=0)  # unanswered nudges before a lead goes cold

    @field_validator("working_days")
    @classmethod
    def _days(cls, values: list[str]) -> list[str]:
        out = [v.strip().lower()[:3] for v in values]
        bad = [v for v in out if v not in _DAYS]
        if bad:
            raise ValueError(f"unknown day {bad[0]!r}; use mon, tue, wed, thu, fri, sat, sun")
        return out

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}; use an IANA name like \"Europe/Berlin\"") from None
        return value

    @model_validator(mode="after")
    def _order(self) -> ScheduleSettings:
        if self.workday_end <= self.workday_start:
            raise ValueError("workday_end must be after workday_start")
        return self


class RulesSettings(_Section):
    file: str = ""  # the user's rules; empty: rules.toml beside the config file


class DraftsSettings(_Section):
    templates_dir: str = ""  # templates here override the shipped ones by file name
    append_to_drafts: bool = True  # also put drafts in the mail account's Drafts folder
    outreach_reply_all: bool = True  # after an introduction, the outreach replies to everyone on the thread
    outreach_referrer: Literal["bcc", "cc", "none"] = "bcc"  # where the introducer goes in that reply


_toml_data: ContextVar[dict[str, Any]] = ContextVar("_toml_data", default={})


class _TomlData(PydanticBaseSettingsSource):
    def get_field_value(self, field, field_name):  # pragma: no cover - required by the ABC
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _toml_data.get()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    accounts: dict[str, AccountSettings] = Field(min_length=1)
    state: StateSettings = Field(default_factory=StateSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    drafts: DraftsSettings = Field(default_factory=DraftsSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        return (init_settings, env_settings, _TomlData(settings_cls))

    # The file these settings were read from: other files (rules.toml) are found beside it.
    _source: Path | None = PrivateAttr(default=None)

    @property
    def config_file(self) -> Path:
        return self._source or default_config_path()

    @field_validator("accounts")
    @classmethod
    def _account_names(cls, accounts: dict[str, AccountSettings]) -> dict[str, AccountSettings]:
        for name in accounts:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                raise ValueError(f"account name {name!r}: use letters, digits, '-' and '_'")
        return accounts


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP) / "config.toml"


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("ASSISTANT_CONFIG"):
        return Path(os.environ["ASSISTANT_CONFIG"]).expanduser()
    return default_config_path()


def _describe(path: Path, err: dict) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    key = ".".join(loc) or "(top level)"
    env_name = ENV_PREFIX + "__".join(loc).upper()
    where = f" (from environment variable {env_name})" if env_name in os.environ else ""
    reason = err.get("msg", "invalid")
    if err.get("type") == "extra_forbidden":
        reason = "unknown key (see config.example.toml for the keys)"
    elif err.get("type") == "missing":
        reason = "required key is missing"
    return f"{path}: {key}{where}: {reason}"


def load_settings(explicit: str | Path | None = None) -> tuple[Settings, Path]:
    path = config_path(explicit)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no config file (run 'assistant init', or pass --config PATH)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    token = _toml_data.set(data)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(path, e) for e in exc.errors())) from None
    finally:
        _toml_data.reset(token)
    settings._source = path
    return settings, path


def state_dir(settings: Settings) -> Path:
    if settings.state.dir:
        return Path(settings.state.dir).expanduser()
    return platformdirs.user_state_path(APP)
