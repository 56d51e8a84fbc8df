"""Working-time arithmetic for due dates: working days, working hours, the user's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .config import ScheduleSettings

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zone(schedule: ScheduleSettings):
    if schedule.timezone:
        return ZoneInfo(schedule.timezone)
    return datetime.now().astimezone().tzinfo


def _is_workday(day: datetime, schedule: ScheduleSettings) -> bool:
    return _DAYS[day.weekday()] in schedule.working_days


def next_workday_at(now: datetime, schedule: ScheduleSettings, at: time) -> datetime:
    """`at` o'clock on the first working day after `now`'s day, in the user's zone."""
    local = now.astimezone(zone(schedule))
    day = local + timedelta(days=1)
    while not _is_workday(day, schedule):
        day += timedelta(days=1)
    return day.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)


def end_of_workday(now: datetime, schedule: ScheduleSettings) -> datetime:
    """The end of today's working day; after hours or on a day off, midday of the next one."""
    local = now.astimezone(zone(schedule))
    end = local.replace(hour=schedule.workday_end.hour, minute=schedule.workday_end.minute, second=0, microsecond=0)
    if _is_workday(local, schedule) and local < end:
        return end
    return next_workday_at(now, schedule, time(12, 0))
