"""One place for "now": the lab's time zone (lab configuration, default Asia/Shanghai).

The lab database stores naive date-times as wall-clock time in the lab's zone (its columns carry no
zone); the report states the zone. A machine whose system clock runs in UTC therefore records
14:56 for a check done at 14:56 Beijing time, not 06:56.
"""

from __future__ import annotations

from datetime import date, datetime

from harness.config import lab_zone


def now() -> datetime:
    """The current time, aware, in the lab's zone (to the second)."""
    return datetime.now(lab_zone()).replace(microsecond=0)


def stamp() -> datetime:
    """The current time as the lab database stores it: naive wall-clock time in the lab's zone."""
    return now().replace(tzinfo=None)


def instant() -> str:
    """Now to the millisecond with the lab zone's offset, for lines of evidence (transcripts, the
    scope guard's refusals): 2026-11-27T14:56:03.120+08:00."""
    return datetime.now(lab_zone()).isoformat(timespec="milliseconds")


def today() -> date:
    return now().date()


def from_timestamp(ts: float) -> datetime:
    """A POSIX timestamp as the lab database stores times (naive, lab zone)."""
    return datetime.fromtimestamp(ts, lab_zone()).replace(tzinfo=None)


def to_lab(dt: datetime) -> datetime:
    """A date-time as naive lab wall-clock time: an aware one is converted, a naive one is taken
    to be lab time already (what an engineer types: --at 2026-11-27T09:00)."""
    if dt.tzinfo is None:
        return dt
    return dt.astimezone(lab_zone()).replace(tzinfo=None)


def aware(dt: datetime) -> datetime:
    """A stored (naive, lab zone) date-time with its zone attached."""
    return dt.replace(tzinfo=lab_zone()) if dt.tzinfo is None else dt


def zone_label(at: datetime | None = None) -> str:
    """ "Asia/Shanghai (UTC+08:00)": how the report states the zone of its times."""
    z = lab_zone()
    off = (at or datetime.now()).replace(tzinfo=z).strftime("%z")
    return f"{z.key} (UTC{off[:3]}:{off[3:]})"


def iso(dt: datetime) -> str:
    """A stored date-time as the report writes it: 2026-11-27 14:56+08:00."""
    a = aware(dt)
    off = a.strftime("%z")
    return f"{a:%Y-%m-%d %H:%M}{off[:3]}:{off[3:]}"
