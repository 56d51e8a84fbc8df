"""Due-time arithmetic: working hours, working days, weekends, time zones, daylight saving."""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from assistant.config import ScheduleSettings
from assistant.schedule import (add_working_days, add_working_hours, end_of_workday, parse_due, parse_when,
                                resolve_due, working_start)

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
S = ScheduleSettings(timezone="Europe/Berlin")  # Mon-Fri 9:00-17:30, late mail due at 12:00


def at(y, mo, d, h, mi=0, tz=BERLIN) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# 2026-11-23 is a Monday; 2026-11-27 a Friday.

@pytest.mark.parametrize("arrived, due", [
    (at(2026, 11, 24, 10, 15), at(2026, 11, 24, 17, 30)),  # during the day: end of that day
    (at(2026, 11, 24, 7, 0), at(2026, 11, 24, 17, 30)),  # before work: still that day
    (at(2026, 11, 24, 17, 30), at(2026, 11, 25, 12, 0)),  # at the end: midday of the next working day
    (at(2026, 11, 24, 22, 0), at(2026, 11, 25, 12, 0)),
    (at(2026, 11, 27, 18, 0), at(2026, 11, 30, 12, 0)),  # Friday evening: Monday midday
    (at(2026, 11, 28, 11, 0), at(2026, 11, 30, 12, 0)),  # Saturday: Monday midday
])
def test_end_of_workday(arrived, due):
    assert end_of_workday(arrived, S) == due


def test_end_of_workday_is_judged_in_the_users_zone_not_the_mails():
    # 16:00 in New York is 22:00 in Berlin: after hours for a Berlin user.
    assert end_of_workday(at(2026, 11, 24, 16, 0, NY), S) == at(2026, 11, 25, 12, 0)
    # ... but within hours for a New York user.
    ny = ScheduleSettings(timezone="America/New_York")
    assert end_of_workday(at(2026, 11, 24, 16, 0, NY), ny) == at(2026, 11, 24, 17, 30, NY)


def test_late_due_and_working_days_are_settings():
    s = ScheduleSettings(timezone="Asia/Jerusalem", working_days=["sun", "mon", "tue", "wed", "thu"], late_due=time(10, 0))
    tz = ZoneInfo("Asia/Jerusalem")
    # Thursday evening: the next working day is Sunday.
    assert end_of_workday(datetime(2026, 11, 26, 19, 0, tzinfo=tz), s) == datetime(2026, 11, 29, 10, 0, tzinfo=tz)


@pytest.mark.parametrize("start, hours, due", [
    (at(2026, 11, 24, 10, 0), 3, at(2026, 11, 24, 13, 0)),
    (at(2026, 11, 24, 16, 0), 3, at(2026, 11, 25, 10, 30)),  # 1.5h today, 1.5h tomorrow
    (at(2026, 11, 27, 16, 0), 3, at(2026, 11, 30, 10, 30)),  # over the weekend
    (at(2026, 11, 28, 23, 0), 3, at(2026, 11, 30, 12, 0)),  # from Saturday: Monday 9:00 + 3h
    (at(2026, 11, 24, 6, 0), 0.5, at(2026, 11, 24, 9, 30)),
    (at(2026, 11, 24, 9, 0), 8.5, at(2026, 11, 24, 17, 30)),  # exactly one working day
    (at(2026, 11, 24, 9, 0), 17, at(2026, 11, 25, 17, 30)),
])
def test_add_working_hours(start, hours, due):
    assert add_working_hours(start, hours, S) == due


def test_add_working_days_keeps_the_time_and_skips_weekends():
    assert add_working_days(at(2026, 11, 24, 14, 0), 5, S) == at(2026, 12, 1, 14, 0)
    assert add_working_days(at(2026, 11, 27, 14, 0), 1, S) == at(2026, 11, 30, 14, 0)
    # Sent on a Sunday: counted from Monday morning.
    assert add_working_days(at(2026, 11, 29, 20, 0), 5, S) == at(2026, 12, 7, 9, 0)


def test_working_days_across_daylight_saving_keep_the_wall_clock():
    # Berlin leaves summer time on Sunday 2026-10-25: 14:00 stays 14:00, the offset changes.
    due = add_working_days(at(2026, 10, 22, 14, 0), 2, S)
    assert (due.hour, due.minute) == (14, 0) and due.date().isoformat() == "2026-10-26"
    assert due.utcoffset().total_seconds() == 3600
    assert at(2026, 10, 22, 14, 0).utcoffset().total_seconds() == 7200
    assert add_working_hours(at(2026, 10, 23, 17, 0), 1, S) == at(2026, 10, 26, 9, 30)


def test_working_start():
    assert working_start(at(2026, 11, 24, 12, 0), S) == at(2026, 11, 24, 12, 0)
    assert working_start(at(2026, 11, 24, 18, 0), S) == at(2026, 11, 25, 9, 0)
    assert working_start(at(2026, 11, 24, 12, 0, timezone.utc), S) == at(2026, 11, 24, 13, 0)


def test_parse_and_resolve_due():
    base = at(2026, 11, 24, 10, 0)
    assert resolve_due(parse_due("end_of_workday"), base, S) == at(2026, 11, 24, 17, 30)
    assert resolve_due(parse_due("same_day"), base, S) == at(2026, 11, 24, 17, 30)
    assert resolve_due(parse_due("next_workday"), base, S) == at(2026, 11, 25, 17, 30)
    assert resolve_due(parse_due("3h"), base, S) == at(2026, 11, 24, 13, 0)
    assert resolve_due(parse_due("2d"), base, S) == at(2026, 11, 26, 10, 0)
    assert resolve_due(parse_due("30m"), base, S) == at(2026, 11, 24, 10, 30)
    assert resolve_due(parse_due("4 working hours"), at(2026, 11, 24, 16, 0), S) == at(2026, 11, 25, 11, 30)
    assert resolve_due(parse_due("5wd"), base, S) == at(2026, 12, 1, 10, 0)
    # A [schedule] number by name, read when the due is resolved.
    terms = parse_due("{thank_within_hours} working hours")
    assert resolve_due(terms, base, S) == at(2026, 11, 24, 13, 0)
    assert resolve_due(terms, base, ScheduleSettings(timezone="Europe/Berlin", thank_within_hours=1)) == at(2026, 11, 24, 11, 0)
    # The date the message gives wins; else the fallback.
    found = at(2026, 12, 3, 12, 0)
    assert resolve_due(parse_due("date_found or next_workday"), base, S, found) == found
    assert resolve_due(parse_due("date_found or next_workday"), base, S, None) == at(2026, 11, 25, 17, 30)


@pytest.mark.parametrize("text, problem", [
    ("soon", "unknown due 'soon'"),
    ("date_found", "needs a fallback"),
    ("{nope} working hours", "unknown setting {nope}"),
    ("3 fortnights", "unknown due"),
    ("10 working minutes", "unknown due"),
])
def test_bad_due(text, problem):
    with pytest.raises(ValueError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        parse_due(text)


@pytest.mark.parametrize("text, when", [
    ("tomorrow 9am", at(2026, 11, 25, 9, 0)),
    ("tomorrow", at(2026, 11, 25, 9, 0)),
    ("2d", at(2026, 11, 26, 10, 0)),
    ("3h", at(2026, 11, 24, 13, 0)),
    ("monday", at(2026, 11, 30, 9, 0)),
    ("tuesday", at(2026, 12, 1, 9, 0)),  # today is Tuesday: the next one
    ("fri 14:30", at(2026, 11, 27, 14, 30)),
    ("4pm", at(2026, 11, 24, 16, 0)),
    ("8am", at(2026, 11, 25, 8, 0)),  # already past today: tomorrow
    ("2026-12-01", at(2026, 12, 1, 9, 0)),
    ("2026-12-01 14:00", at(2026, 12, 1, 14, 0)),
])
def test_parse_when(text, when):
    assert parse_when(text, at(2026, 11, 24, 10, 0), S) == when


def test_parse_when_refuses_nonsense():
    with pytest.raises(ValueError, match="cannot read"):
        parse_when("whenever you like", at(2026, 11, 24, 10, 0), S)


def test_an_unknown_time_zone_is_a_config_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown time zone"):
        ScheduleSettings(timezone="Mars/Olympus_Mons")
