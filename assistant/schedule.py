"""Working-time arithmetic for due dates: working days, working hours, the user's zone.

Every function takes the moment to start from (`now`) and returns an aware datetime in
the user's zone; none reads the clock, so tests inject time.  Wall-clock arithmetic is
done on naive local times and localised again at the end, so that "9:00 the next
working day" stays 9:00 across a daylight-saving change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.tz import tzlocal

from .config import ScheduleSettings

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zone(schedule: ScheduleSettings):
    if schedule.timezone:
        return ZoneInfo(schedule.timezone)
    # tzlocal follows the machine's daylight-saving rules; a fixed offset taken from now
    # would put every due time after the next change an hour off.
    return tzlocal()


def local(moment: datetime, schedule: ScheduleSettings) -> datetime:
    return moment.astimezone(zone(schedule))


def _at(day: date, at: time, schedule: ScheduleSettings) -> datetime:
    # fold=0: an ambiguous wall time (the hour repeated in autumn) is its first occurrence.
    return datetime.combine(day, at).replace(tzinfo=zone(schedule))


def is_workday(day: date, schedule: ScheduleSettings) -> bool:
    return _DAYS[day.weekday()] in schedule.working_days


def next_workday(day: date, schedule: ScheduleSettings) -> date:
    """The first working day after `day`."""
    day += timedelta(days=1)
    while not is_workday(day, schedule):
        day += timedelta(days=1)
    return day


def next_workday_at(now: datetime, schedule: ScheduleSettings, at: time) -> datetime:
    """`at` o'clock on the first working day after `now`'s day, in the user's zone."""
    return _at(next_workday(local(now, schedule).date(), schedule), at, schedule)


def end_of_workday(now: datetime, schedule: ScheduleSettings) -> datetime:
    """The end of today's working day; after hours or on a day off, `late_due` (midday) of the next one."""
    here = local(now, schedule)
    end = _at(here.date(), schedule.workday_end, schedule)
    if is_workday(here.date(), schedule) and here < end:
        return end
    return next_workday_at(now, schedule, schedule.late_due)


def end_of_next_workday(now: datetime, schedule: ScheduleSettings) -> datetime:
    return next_workday_at(now, schedule, schedule.workday_end)


def working_start(now: datetime, schedule: ScheduleSettings) -> datetime:
    """`now` if it is inside working hours, else the start of the next working period."""
    here = local(now, schedule)
    day = here.date()
    if is_workday(day, schedule):
        start = _at(day, schedule.workday_start, schedule)
        if here < start:
            return start
        if here < _at(day, schedule.workday_end, schedule):
            return here
    return _at(next_workday(day, schedule), schedule.workday_start, schedule)


def add_working_hours(now: datetime, hours: float, schedule: ScheduleSettings) -> datetime:
    """`hours` of working time after `now`: the clock only runs inside working hours."""
    left = timedelta(hours=hours)
    moment = working_start(now, schedule)
    while True:
        end = _at(moment.date(), schedule.workday_end, schedule)
        if moment + left <= end:
            return moment + left
        left -= end - moment
        moment = _at(next_workday(moment.date(), schedule), schedule.workday_start, schedule)


def add_working_days(now: datetime, days: int, schedule: ScheduleSettings) -> datetime:
    """The same working time of day, `days` working days later (from the next working moment)."""
    moment = working_start(now, schedule)
    day = moment.date()
    for _ in range(days):
        day = next_workday(day, schedule)
    return _at(day, moment.time(), schedule)


def add_calendar(now: datetime, delta: timedelta, schedule: ScheduleSettings) -> datetime:
    return local(now + delta, schedule)


# --- due rules: the `due` of a rule's task, e.g. "end_of_workday", "3 working hours",
# "{thank_within_hours} working hours", "date_found or next_workday" ----------------------

ANCHORS = ("end_of_workday", "next_workday", "date_found")
_UNITS = {
    "m": ("minutes", False), "min": ("minutes", False), "minute": ("minutes", False), "minutes": ("minutes", False),
    "h": ("hours", False), "hour": ("hours", False), "hours": ("hours", False),
    "d": ("days", False), "day": ("days", False), "days": ("days", False),
    "wh": ("hours", True), "working hour": ("hours", True), "working hours": ("hours", True),
    "wd": ("days", True), "working day": ("days", True), "working days": ("days", True),
}
_OFFSET = re.compile(r"^\+?\s*(?P<n>\d+(?:\.\d+)?|\{(?P<key>[a-z_]+)\})\s*(?P<unit>[a-z ]+?)\s*$")


@dataclass(frozen=True, slots=True)
class DueTerm:
    anchor: str = ""  # one of ANCHORS, or "" for an offset
    amount: float = 0.0
    key: str = ""  # a [schedule] key whose value is the amount
    unit: str = ""  # minutes, hours, days
    working: bool = False


def _numeric_keys() -> set[str]:
    return {name for name, f in ScheduleSettings.model_fields.items() if f.annotation in (int, float, "int", "float")}


def parse_due(text: str) -> tuple[DueTerm, ...]:
    """Alternatives tried in order ("date_found or next_workday"); ValueError names the problem."""
    terms = []
    for part in re.split(r"\s+or\s+", text.strip().lower()):
        if part in ("same_day", "end_of_day"):
            part = "end_of_workday"
        if part in ANCHORS:
            terms.append(DueTerm(anchor=part))
            continue
        m = _OFFSET.match(part)
        if not m or m["unit"] not in _UNITS:
            raise ValueError(f"unknown due {part!r}: use {', '.join(ANCHORS)}, an offset like '3h', '2d', "
                             "'4 working hours', '5 working days', or alternatives joined by 'or'")
        unit, working = _UNITS[m["unit"]]
        if m["key"] and m["key"] not in _numeric_keys():
            raise ValueError(f"unknown setting {{{m['key']}}} in due {part!r} (have: {', '.join(sorted(_numeric_keys()))})")
        if working and unit == "minutes":
            raise ValueError(f"due {part!r}: working time is counted in hours or days")
        terms.append(DueTerm(amount=float(m["n"]) if not m["key"] else 0.0, key=m["key"] or "", unit=unit, working=working))
    if terms[-1].anchor == "date_found":
        raise ValueError(f"due {text!r}: date_found needs a fallback, e.g. 'date_found or next_workday'")
    return tuple(terms)


def resolve_due(terms: tuple[DueTerm, ...], base: datetime, schedule: ScheduleSettings,
                found: datetime | None = None) -> datetime:
    """The due time for `terms`, counted from `base` (when the mail arrived); `found` is a date the text gave."""
    for term in terms:
        if term.anchor == "date_found":
            if found is not None:
                return local(found, schedule)
            continue
        if term.anchor == "end_of_workday":
            return end_of_workday(base, schedule)
        if term.anchor == "next_workday":
            return end_of_next_workday(base, schedule)
        amount = float(getattr(schedule, term.key)) if term.key else term.amount
        if term.working and term.unit == "hours":
            return add_working_hours(base, amount, schedule)
        if term.working:
            return add_working_days(base, int(amount), schedule)
        return add_calendar(base, timedelta(**{term.unit: amount}), schedule)
    raise AssertionError("parse_due guarantees a last term that always resolves")


# --- "when" the user types: snooze until "tomorrow 9am", "2d", "monday", "2026-12-01 14:00" ----------

_SPAN = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _clock(text: str) -> time | None:
    m = _CLOCK.match(text.strip())
    if not m:
        return None
    hour, minute = int(m[1]), int(m[2] or 0)
    if m[3] == "pm" and hour < 12:
        hour += 12
    elif m[3] == "am" and hour == 12:
        hour = 0
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_when(text: str, now: datetime, schedule: ScheduleSettings) -> datetime:
    """A moment after `now` from what a user types; a day without a time means the start of work."""
    words = text.strip().lower()
    if m := _SPAN.match(words):
        unit = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m[2]]
        return local(now + timedelta(**{unit: int(m[1])}), schedule)
    head, _, rest = words.partition(" ")
    at = _clock(rest) if rest else schedule.workday_start
    today = local(now, schedule).date()
    day = None
    if head in ("today", "tomorrow"):
        day = today + timedelta(days=head == "tomorrow")
    elif len(head) >= 3 and any(w.startswith(head) for w in _WEEKDAYS):
        target = next(i for i, w in enumerate(_WEEKDAYS) if w.startswith(head))
        day = today + timedelta(days=(target - today.weekday() - 1) % 7 + 1)  # the next one, never today
    elif (clock := _clock(words)) is not None:
        day, at = today, clock
        if _at(day, at, schedule) <= now:
            day += timedelta(days=1)
    if day is not None and at is not None:
        return _at(day, at, schedule)
    from dateutil import parser

    try:
        found = parser.parse(text, default=datetime.combine(today, schedule.workday_start))
    except (ValueError, OverflowError):
        raise ValueError(f"cannot read {text!r} as a time: try 'tomorrow 9am', '2d', '3h', 'monday', '2026-12-01 14:00'") from None
    return found.replace(tzinfo=zone(schedule)) if found.tzinfo is None else found
