"""Due dates in requests ("by Friday", "next Tuesday", "end of the month"), resolved
against the message's Date, in the sender's time zone as the Date header gives it.

A due date is the end of that working day (17:00): "by Friday" is still on time on
Friday morning.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

_WEEKDAYS = {name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}
_WEEKDAYS.update({name[:3]: i for name, i in list(_WEEKDAYS.items())})
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9

_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b"
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_DUE = re.compile(
    r"\b(?:by|before|until|till|no later than|due|on|for)\s+(?:the\s+)?(?:"
    rf"(?P<next>next\s+|this\s+(?:coming\s+)?)?(?P<wd>{_DAY})(?:,?\s+(?:the\s+)?(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?)?"
    rf"|(?P<m2>{_MONTH})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m3>{_MONTH})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?P<us>\d{1,2}/\d{1,2})(?:/\d{2,4})?"
    r"|(?P<eom>(?:the\s+)?end of (?:the\s+)?month|eom)"
    r"|(?P<eow>(?:the\s+)?end of (?:the\s+|this\s+)?week|eow)"
    r"|(?P<nw>next week)"
    r"|(?P<tomorrow>tomorrow)"
    r"|(?P<today>today|tonight|(?:the\s+)?end of (?:the\s+)?day|eod|close of business|cob)"
    r")"
    r"|\b(?P<next2>next)\s+(?P<wd2>" + _DAY + r")"
    r"|\b(?P<eom2>end of (?:the\s+)?month)\b|\b(?P<tomorrow2>tomorrow)\b"
    r"|\bwithin\s+(?P<n>\d{1,2}|a|one|two|three)\s+(?P<unit>days?|weeks?)",
    re.IGNORECASE,
)
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3}


def find_due(text: str, base: datetime | None) -> datetime | None:
    """The first due date the text gives, or None (also when the message has no Date)."""
    found = _DUE.search(text)
    if found is None or base is None:
        return None
    try:
        day = _resolve(found, base)
    except (ValueError, OverflowError):
        return None
    if day is None:
        return None
    return base.replace(year=day.year, month=day.month, day=day.day, hour=17, minute=0, second=0, microsecond=0)


def _resolve(m: re.Match, base: datetime) -> datetime | None:
    g = m.groupdict()
    month, mday = _month_day(g)
    if month:
        return _next_date(base, month, mday)
    weekday = g["wd"] or g["wd2"]
    if weekday:
        target = _WEEKDAYS[weekday.lower()[:3]]
        if g["next"] and g["next"].strip().lower().startswith("next") or g["next2"]:
            # "next Tuesday": the Tuesday of the coming week.
            monday = base - timedelta(days=base.weekday()) + timedelta(days=7)
            return monday + timedelta(days=target)
        ahead = (target - base.weekday()) % 7 or 7
        return base + timedelta(days=ahead)
    if g["iso"]:
        return datetime.strptime(g["iso"], "%Y-%m-%d")
    if g["us"]:
        mon, d = (int(x) for x in g["us"].split("/"))
        return _next_date(base, mon, d)
    if g["eom"] or g["eom2"]:
        return base.replace(day=calendar.monthrange(base.year, base.month)[1])
    if g["eow"]:
        return base + timedelta(days=(4 - base.weekday()) % 7)
    if g["nw"]:
        return base - timedelta(days=base.weekday()) + timedelta(days=7)
    if g["tomorrow"] or g["tomorrow2"]:
        return base + timedelta(days=1)
    if g["today"]:
        return base
    if g["n"]:
        count = _NUMBERS.get(g["n"].lower()) or int(g["n"])
        return base + timedelta(days=count * (7 if g["unit"].lower().startswith("week") else 1))
    return None


def _month_day(g: dict) -> tuple[int, int]:
    for m, d in (("m1", "d1"), ("m2", "d2"), ("m3", "d3")):
        if g[m]:
            return _MONTHS[g[m].lower().rstrip(".")], int(g[d])
    return 0, 0


def _next_date(base: datetime, month: int, day: int) -> datetime:
    """The date with that month and day on or after the message date (a deadline is not in the past)."""
    candidate = datetime(base.year, month, day)
    if candidate.date() < base.date() - timedelta(days=31):
        candidate = datetime(base.year + 1, month, day)
    return candidate
