"""Rules: what follow-up tasks a detected message opens, and when they are due.

The playbook is data (see `rulefile`: the built-in `rules.toml` and the user's file).
Rules are tried in order; every rule whose conditions hold adds its tasks, `stop` ends
the list, `skip` drops the message (no tasks at all, whatever matched before).  Nothing
here touches the store: `evaluate` says which rules fire and why, `plan` the tasks to
open; `tasks.open_tasks` keeps a message from opening the same task twice.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime

from .config import ScheduleSettings
from .mail import Detection, Mail, Person
from .rulefile import RULE_KINDS, Condition, LoadedRule, RuleSet, TaskAction, compiled
# The rule file's reading lives in rulefile.py; callers find it here, beside the engine.
from .rulefile import active, builtin_text, load, parse_rules, user_rules_path  # noqa: F401
from .schedule import resolve_due


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task a rule wants open: whom it writes to, whom it is about, when it is due, which template drafts it."""

    kind: str  # reach_out, thank, act_on_lead, do_request, nudge, report_back, ...
    person: Person | None  # whom the task writes to (part of the task's key)
    title: str
    due: datetime
    rule: str
    template: str | None = None
    priority: int = 0
    about: Person | None = None  # the contact the task is about (for a thank: the lead's first contact)
    auto_send: bool = False  # the rule allows sending the draft without review


# --- evaluation -----------------------------------------------------------------------------


def _address_matches(email: str | None, patterns: list[str]) -> str | None:
    if not email:
        return None
    email = email.lower()
    domain = email.rpartition("@")[2]
    for p in patterns:
        if "@" in p:
            if fnmatch.fnmatchcase(email, p):
                return p
        elif fnmatch.fnmatchcase(domain, p) or domain.endswith("." + p):
            return p
    return None


def _header_value(mail: Mail, name: str) -> str | None:
    people = lambda ps: ", ".join(f"{p.name} <{p.email}>" for p in ps) or None  # noqa: E731
    fields = {
        "from": people([mail.sender] if mail.sender else []), "to": people(mail.to), "cc": people(mail.cc),
        "reply-to": people(mail.reply_to), "subject": mail.subject, "date": mail.date.isoformat() if mail.date else None,
        "message-id": mail.message_id, "in-reply-to": mail.in_reply_to or None, "references": " ".join(mail.references) or None,
    }
    return fields[name] if name in fields else mail.headers.get(name)


def match(cond: Condition, mail: Mail, detection: Detection, me: frozenset[str]) -> tuple[bool, list[str]]:
    """Whether `cond` holds, with the reasons: each check that held, or the first that failed."""
    why: list[str] = []
    cs = cond.case_sensitive

    def check(ok: bool, text: str) -> bool:
        why.append(text if ok else f"not: {text}")
        return ok

    sender = mail.sender.email if mail.sender else None
    checks = []
    if cond.kind is not None:
        checks.append(lambda: check(detection.kind in cond.kind, f"kind is {detection.kind}"
                                    + ("" if detection.kind in cond.kind else f", not {' or '.join(cond.kind)}")))
    if cond.min_confidence is not None:
        checks.append(lambda: check(detection.confidence >= cond.min_confidence,
                                    f"confidence {detection.confidence:.2f} >= {cond.min_confidence}"))
    if cond.sender is not None:
        checks.append(lambda: check(bool(hit := _address_matches(sender, cond.sender)),
                                    f"sender {sender} matches {hit or ' | '.join(cond.sender)}"))
    if cond.recipient is not None:
        def recipient() -> bool:
            hits = [(p.email, h) for p in (*mail.to, *mail.cc) if (h := _address_matches(p.email, cond.recipient))]
            return check(bool(hits), f"recipient {hits[0][0]} matches {hits[0][1]}" if hits
                         else f"a recipient matches {' | '.join(cond.recipient)}")
        checks.append(recipient)
    if cond.from_me is not None:
        mine = bool(sender and sender.lower() in me)
        checks.append(lambda: check(mine == cond.from_me, "sender is me" if cond.from_me else "sender is not me"))
    if cond.folder is not None:
        checks.append(lambda: check(any(fnmatch.fnmatchcase(mail.folder, f) for f in cond.folder),
                                    f"folder {mail.folder} matches {' | '.join(cond.folder)}"))
    if cond.subject is not None:
        checks.append(lambda: check(bool(compiled(cond.subject, cs).search(mail.subject)), f"subject matches /{cond.subject}/"))
    if cond.body is not None:
        checks.append(lambda: check(bool(compiled(cond.body, cs).search(mail.text)), f"body matches /{cond.body}/"))
    for name, pattern in (cond.header or {}).items():
        def header(name=name, pattern=pattern) -> bool:
            value = _header_value(mail, name)
            ok = value is not None and (not pattern or bool(compiled(pattern, cs).search(value)))
            return check(ok, f"header {name} " + (f"matches /{pattern}/" if pattern else "is present"))
        checks.append(header)
    if cond.all is not None:
        def all_() -> bool:
            for sub in cond.all:
                ok, sub_why = match(sub, mail, detection, me)
                why.extend(sub_why)
                if not ok:
                    return False
            return True
        checks.append(all_)
    if cond.any is not None:
        def any_() -> bool:
            for sub in cond.any:
                ok, sub_why = match(sub, mail, detection, me)
                if ok:
                    why.append("any: " + "; ".join(sub_why))
                    return True
            why.append("not: any of the alternatives")
            return False
        checks.append(any_)
    if cond.not_ is not None:
        def not_() -> bool:
            ok, sub_why = match(cond.not_, mail, detection, me)
            why.append(("not: " if ok else "") + "not (" + "; ".join(sub_why) + ")")
            return not ok
        checks.append(not_)
    for run in checks:
        if not run():
            return False, why[-1:]
    return True, why or ["always (no conditions)"]


def _label(person: Person | None, default: str) -> str:
    return (person.name or person.email or default) if person else default


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def arrival(mail: Mail, now: datetime) -> datetime:
    """When the message arrived, for due times: its Date, never later than now (clocks lie)."""
    return min(mail.date, now) if mail.date and mail.date.tzinfo else now


def _tasks(action: TaskAction, rule: LoadedRule, mail: Mail, detection: Detection, schedule: ScheduleSettings,
           now: datetime) -> list[TaskSpec]:
    first = detection.contacts[0] if detection.contacts else None
    targets: list[tuple[Person | None, Person | None]]  # (to, about)
    if action.for_ == "contacts":
        targets = [(c, c) for c in detection.contacts]
    elif action.for_ == "referrer":
        targets = [(detection.referrer, first)] if detection.referrer else []
    elif action.for_ == "sender":
        targets = [(mail.sender, first)] if mail.sender else []
    else:
        targets = [(detection.referrer or mail.sender, first)]
    found = [r.due for r in detection.requests if r.due]
    due = resolve_due(action.due_terms, arrival(mail, now), schedule, min(found) if found else None)
    what = " at ".join(x for x in (detection.role, detection.company) if x) or "the lead"
    specs = []
    for to, about in targets:
        values = {
            "contact": _label(about, "the contact"), "to": _label(to, "them"), "referrer": _label(detection.referrer, "someone"),
            "contacts": _join([_label(c, "?") for c in detection.contacts]) if detection.contacts else "the contact",
            "company": detection.company or "the company", "role": detection.role or "the role", "what": what,
            "requests": _clip("; ".join(r.text for r in detection.requests), 120) or "what was asked", "subject": mail.subject,
        }
        # A draft needs an address: for a person known by name or phone only, the task opens without one.
        template = action.template if to is not None and to.email else None
        specs.append(TaskSpec(action.kind, to, action.title.format_map(values)[:300], due, rule.rule.name,
                              template, action.priority, about, action.auto_send))
    return specs


@dataclass
class Firing:
    rule: LoadedRule
    matched: bool
    why: list[str]
    specs: list[TaskSpec] = field(default_factory=list)


@dataclass
class Evaluation:
    firings: list[Firing]
    specs: list[TaskSpec]
    skipped_by: str | None = None
    stopped_by: str | None = None


def evaluate(ruleset: RuleSet, mail: Mail, detection: Detection, schedule: ScheduleSettings, now: datetime,
             me: frozenset[str] = frozenset()) -> Evaluation:
    """Try every rule in order; what fired, why, and the tasks that would open (nothing is written)."""
    result = Evaluation(firings=[], specs=[])
    if detection.kind not in RULE_KINDS:
        return result  # rules follow up what detection found; other mail is never a task
    keys: set[tuple] = set()
    for loaded in ruleset.rules:
        ok, why = match(loaded.rule.when, mail, detection, me)
        firing = Firing(loaded, ok, why)
        result.firings.append(firing)
        if not ok:
            continue
        if loaded.rule.skip:
            result.skipped_by, result.specs = loaded.rule.name, []
            return result
        for action in loaded.rule.task:
            for spec in _tasks(action, loaded, mail, detection, schedule, now):
                key = (spec.kind, (spec.person.email or spec.person.name).lower() if spec.person else "-")
                if key not in keys:  # the first rule to ask for a task wins, as the store would decide
                    keys.add(key)
                    firing.specs.append(spec)
                    result.specs.append(spec)
        if loaded.rule.stop:
            result.stopped_by = loaded.rule.name
            break
    return result


def plan(mail: Mail, detection: Detection, ruleset: RuleSet, schedule: ScheduleSettings, now: datetime,
         me: frozenset[str] = frozenset()) -> list[TaskSpec]:
    return evaluate(ruleset, mail, detection, schedule, now, me).specs
