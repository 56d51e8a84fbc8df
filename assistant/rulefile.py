"""Rule files: the shape of a rules file (pydantic), loading the built-in and the user's, validation.

The built-in playbook ships as `rules.toml` in the package; the user's file (TOML, path
from [rules] file, else rules.toml beside the config) runs before it, replaces a built-in
rule by using its name, and turns built-ins off with `disable`.  Every problem is a
ConfigError line "FILE: rule NAME: field: reason", so the user knows what to fix.
"""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .config import DraftsSettings, Settings
from .errors import ConfigError
from .schedule import DueTerm, parse_due

BUILTIN = "built-in"
RULE_KINDS = ("introduction", "referral", "lead", "request")  # what detection finds; "none" opens nothing
# Headers a condition can test: the fields parse keeps, plus the headers it stores as is.
HEADERS = ("from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
           "list-id", "list-unsubscribe", "list-post", "precedence", "auto-submitted", "x-autoreply",
           "x-autorespond", "x-auto-response-suppress", "sender", "x-assistant-task")
TITLE_FIELDS = ("contact", "contacts", "to", "referrer", "company", "role", "what", "requests", "subject")


# --- the rule file's shape -------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regex {value!r}: {exc}") from None
    return value


def _as_list(value):
    return [value] if isinstance(value, str) else value


class Condition(_Model):
    """Every condition given must hold; `all`, `any` and `not` combine nested conditions."""

    kind: list[str] | None = None
    min_confidence: float | None = Field(None, ge=0, le=1)
    sender: list[str] | None = None  # globs: "*@acme.com", "jane@x.org", or a domain "acme.com"
    recipient: list[str] | None = None  # the same, against To and Cc
    from_me: bool | None = None  # the sender is one of the account's addresses
    folder: list[str] | None = None  # globs
    subject: str | None = None  # regex, searched
    body: str | None = None  # regex, searched in the text
    header: dict[str, str] | None = None  # name -> regex; "" only asks that the header is present
    case_sensitive: bool = False
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(None, alias="not")

    _lists = field_validator("kind", "sender", "recipient", "folder", mode="before")(classmethod(lambda cls, v: _as_list(v)))
    _regexes = field_validator("subject", "body")(classmethod(lambda cls, v: _regex(v)))

    @field_validator("kind")
    @classmethod
    def _kinds(cls, values: list[str] | None) -> list[str] | None:
        bad = [v for v in values or () if v not in RULE_KINDS]
        if bad:
            why = "rules apply only to mail detection found something in" if bad[0] == "none" else "unknown kind"
            raise ValueError(f"{why} {bad[0]!r} (have: {', '.join(RULE_KINDS)})")
        return values

    @field_validator("sender", "recipient")
    @classmethod
    def _lower(cls, values: list[str] | None) -> list[str] | None:
        return [v.strip().lower().removeprefix("@") for v in values] if values else values

    @field_validator("header")
    @classmethod
    def _headers(cls, values: dict[str, str] | None) -> dict[str, str] | None:
        if values is None:
            return None
        out = {}
        for name, pattern in values.items():
            if name.lower() not in HEADERS:
                raise ValueError(f"header {name!r} is not read by the scan (have: {', '.join(HEADERS)})")
            out[name.lower()] = _regex(pattern) or ""
        return out


class TaskAction(_Model):
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    for_: Literal["contacts", "referrer", "sender", "lead"] = Field("lead", alias="for")
    title: str = Field(min_length=1)
    due: str
    template: str | None = None
    priority: int = 0
    auto_send: bool = False  # the draft may be sent without review (issue 5; off by default)

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        parse_due(value)  # raises ValueError naming the problem
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            raise ValueError(f"bad title {value!r}: {exc}") from None
        bad = [n for n in names if n not in TITLE_FIELDS]
        if bad:
            raise ValueError(f"unknown field {{{bad[0]}}} in title (have: {', '.join(TITLE_FIELDS)})")
        return value

    @property
    def due_terms(self) -> tuple[DueTerm, ...]:
        return _due_terms(self.due)


class Rule(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    enabled: bool = True
    when: Condition = Field(default_factory=Condition)
    task: list[TaskAction] = Field(default_factory=list)
    skip: bool = False  # ignore the message: no tasks, no later rules
    stop: bool = False  # no later rules


class RuleFile(_Model):
    disable: list[str] = Field(default_factory=list)  # built-in rules to turn off, by name
    rule: list[Rule] = Field(default_factory=list)


@lru_cache(maxsize=256)
def _due_terms(text: str) -> tuple[DueTerm, ...]:
    return parse_due(text)


@lru_cache(maxsize=1024)
def compiled(pattern: str, case_sensitive: bool) -> re.Pattern:
    return re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedRule:
    rule: Rule
    source: str  # BUILTIN or the user's file
    overrides: bool = False  # a user rule that replaces the built-in of the same name


@dataclass
class RuleSet:
    rules: list[LoadedRule]  # in effect, in order
    disabled: list[LoadedRule] = field(default_factory=list)
    user_file: Path | None = None
    warnings: list[str] = field(default_factory=list)


def _where(loc: tuple, data: dict) -> tuple[str, str]:
    """(rule name, field path) for a pydantic error location in a rule file."""
    if len(loc) >= 2 and loc[0] == "rule" and isinstance(loc[1], int):
        raw = data.get("rule", [])
        item = raw[loc[1]] if loc[1] < len(raw) and isinstance(raw[loc[1]], dict) else {}
        name = str(item.get("name") or f"#{loc[1] + 1}")
        rest = loc[2:]
    else:
        name, rest = "", loc
    parts: list[str] = []
    for p in rest:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}#{p + 1}"]
        else:
            parts.append(str(p))
    return name, ".".join(parts) or "(top level)"


def parse_rules(text: str, label: str, templates: set[str] | None) -> RuleFile:
    """Validate a rules file; every problem is a ConfigError line "FILE: rule NAME: field: reason"."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None
    problems = []
    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            name, where = _where(tuple(err["loc"]), data)
            reason = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            problems.append(f"{label}: " + (f"rule {name}: " if name else "") + f"{where}: {reason}")
        raise ConfigError("\n".join(problems)) from None
    seen: set[str] = set()
    for rule in parsed.rule:
        if rule.name in seen:
            problems.append(f"{label}: rule {rule.name}: name: used twice in this file")
        seen.add(rule.name)
        for n, action in enumerate(rule.task, 1):
            if templates is not None and action.template and action.template not in templates:
                problems.append(f"{label}: rule {rule.name}: task#{n}.template: unknown template {action.template!r}"
                                f" (have: {', '.join(sorted(templates)) or 'none'})")
    if problems:
        raise ConfigError("\n".join(problems))
    return parsed


def available_templates(drafts: DraftsSettings) -> set[str]:
    """Template names: the shipped `templates/*.j2` plus the user's [drafts] templates_dir."""
    names = {e.name.removesuffix(".j2") for e in resources.files("assistant.templates").iterdir() if e.name.endswith(".j2")}
    if drafts.templates_dir:
        folder = Path(drafts.templates_dir).expanduser()
        if folder.is_dir():
            names.update(p.name.removesuffix(".j2") for p in folder.glob("*.j2"))
    return names


def user_rules_path(settings: Settings, config_file: Path | None = None) -> Path:
    config_file = config_file or settings.config_file
    if settings.rules.file:
        path = Path(settings.rules.file).expanduser()
        return path if path.is_absolute() else config_file.parent / path
    return config_file.parent / "rules.toml"


def builtin_text() -> str:
    return resources.files("assistant").joinpath("rules.toml").read_text(encoding="utf-8")


def load(settings: Settings, config_file: Path | None = None, user_file: Path | None = None) -> RuleSet:
    """The built-in rules with the user's: user rules first, a same-named one replacing the built-in."""
    templates = available_templates(settings.drafts)
    builtin = parse_rules(builtin_text(), BUILTIN, None)
    ruleset = RuleSet(rules=[])
    for rule in builtin.rule:
        for n, action in enumerate(rule.task):
            if action.template and action.template not in templates:
                # Shipped rules and templates change together; a missing one must not stop a scan.
                ruleset.warnings.append(f"{BUILTIN}: rule {rule.name}: task#{n + 1}.template: template {action.template!r}"
                                        " is not installed; its tasks open without a draft")
                rule.task[n] = action.model_copy(update={"template": None})
    path = user_file or user_rules_path(settings, config_file)
    user = RuleFile()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        user = parse_rules(text, str(path), templates)
        ruleset.user_file = path
    elif settings.rules.file:
        raise ConfigError(f"{path}: no such rules file ([rules] file in the config)")
    names = {r.name for r in builtin.rule}
    unknown = [n for n in user.disable if n not in names]
    if unknown:
        raise ConfigError(f"{path}: disable: no built-in rule {unknown[0]!r} (have: {', '.join(sorted(names))})")
    replaced = {r.name: r for r in user.rule if r.name in names}
    for rule in user.rule:
        if rule.name not in names:
            (ruleset.rules if rule.enabled else ruleset.disabled).append(LoadedRule(rule, str(path)))
    for rule in builtin.rule:
        if rule.name in replaced:
            loaded = LoadedRule(replaced[rule.name], str(path), overrides=True)
            (ruleset.rules if loaded.rule.enabled else ruleset.disabled).append(loaded)
        elif rule.name in user.disable or not rule.enabled:
            ruleset.disabled.append(LoadedRule(rule, BUILTIN))
        else:
            ruleset.rules.append(LoadedRule(rule, BUILTIN))
    ruleset.warnings = [w for w in ruleset.warnings if not any(f"rule {n}:" in w for n in replaced)]
    return ruleset


_cache: dict[tuple, RuleSet] = {}


def active(settings: Settings, config_file: Path | None = None) -> RuleSet:
    """`load`, remembered while the rule file and the template folder stay the same (one load a scan)."""
    path = user_rules_path(settings, config_file)
    stamp = path.stat().st_mtime_ns if path.is_file() else None
    key = (str(path), stamp, settings.drafts.templates_dir, settings.rules.file)
    if key not in _cache:
        _cache.clear()
        _cache[key] = load(settings, config_file)
    return _cache[key]
