"""Rules: what follow-up tasks a detected message opens, and when they are due.

This first engine encodes the core of the playbook in code; the TOML rule language
(built-in rules file plus the user's own) replaces it in the rule-engine issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import ScheduleSettings
from .mail import Detection, Mail, Person
from .schedule import end_of_workday, next_workday_at


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task a rule wants open: who it is about, when it is due, which template drafts it."""

    kind: str  # reach_out, thank, act_on_lead, do_request, ...
    person: Person | None  # whom the task writes to / is about
    title: str
    due: datetime
    rule: str
    template: str | None = None
    priority: int = 0


def plan(mail: Mail, detection: Detection, schedule: ScheduleSettings, now: datetime) -> list[TaskSpec]:
    specs: list[TaskSpec] = []
    referrer = detection.referrer
    if detection.kind in ("introduction", "referral"):
        template = "reach_out_intro" if detection.kind == "introduction" else "reach_out_referral"
        for contact in detection.contacts:
            specs.append(
                TaskSpec("reach_out", contact, f"Reach out to {contact.name or contact.email}",
                         end_of_workday(now, schedule), f"builtin:{detection.kind}", template, 2)
            )
    if detection.kind in ("introduction", "referral", "lead") and referrer is not None:
        specs.append(
            TaskSpec("thank", referrer, f"Thank {referrer.name or referrer.email}",
                     now + timedelta(hours=3), f"builtin:{detection.kind}", "thank", 1)
        )
    if detection.kind == "lead":
        what = " at ".join(x for x in (detection.role, detection.company) if x) or "the lead"
        specs.append(
            TaskSpec("act_on_lead", referrer, f"Act on the lead: {what}", end_of_workday(now, schedule),
                     "builtin:lead", None, 2)
        )
    if detection.kind == "request":
        for request in detection.requests or []:
            due = request.due or next_workday_at(now, schedule, schedule.workday_end)
            specs.append(
                TaskSpec("do_request", referrer, f"Do what was asked: {request.text}", due, "builtin:request", None, 1)
            )
    return specs
