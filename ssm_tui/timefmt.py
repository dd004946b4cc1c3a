"""One rule for every time shown or typed: local time, labelled with its zone, or UTC by setting.

The history panel, the transcripts panel, the transcript viewer (its `t` jump) and
`ssm-tui history` all format and read times here, so a person never has to guess which zone a
column is in (with TZ=America/New_York, `history` once printed `START (UTC)` over local times,
the panels differed and `t` expected UTC). The `utc_times` setting switches all of them to UTC.

No Textual and no AWS here: plain datetimes in, strings out.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo

FORMAT = "%Y-%m-%d %H:%M:%S"

_utc: bool | None = None


def configure(utc: bool) -> None:
    """Show times in UTC (`utc_times = true`) or local time; the app calls it with its settings."""
    global _utc
    _utc = bool(utc)


def uses_utc() -> bool:
    """Whether times are shown in UTC: as configured, else as the settings file says."""
    global _utc
    if _utc is None:
        try:
            from ssm_tui.aws.settings import load_settings

            _utc = bool(getattr(load_settings(), "utc_times", False))
        except Exception:  # noqa: BLE001 - a broken settings file is reported elsewhere
            _utc = False
    return _utc


def zone(utc: bool | None = None) -> tzinfo:
    """The zone times are shown in."""
    if uses_utc() if utc is None else utc:
        return UTC
    local = datetime.now().astimezone().tzinfo
    return local or UTC


def zone_label(utc: bool | None = None, at: datetime | None = None) -> str:
    """`UTC`, or the local zone's name (`EST`, `CET`, or `+0530` where it has none)."""
    if uses_utc() if utc is None else utc:
        return "UTC"
    moment = (at or datetime.now(UTC)).astimezone()
    name = moment.tzname()
    return name if name and not name.startswith(("+", "-")) else moment.strftime("%z")


def shown(value: datetime, utc: bool | None = None) -> datetime:
    """`value` in the display zone (a naive value is taken as UTC, as AWS means it)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if uses_utc() if utc is None else utc:
        return aware.astimezone(UTC)
    return aware.astimezone()


def format_time(value: datetime | None, utc: bool | None = None, *, label: bool = False) -> str:
    """`2026-12-03 09:05:00` in the display zone (`label`: followed by the zone's name)."""
    if value is None:
        return ""
    local = shown(value, utc)
    text = local.strftime(FORMAT)
    return f"{text} {zone_label(utc, local)}" if label else text


def format_epoch(seconds: float, utc: bool | None = None, *, label: bool = False) -> str:
    return format_time(datetime.fromtimestamp(seconds, UTC), utc, label=label)


def parse_time(value: str, reference: datetime, utc: bool | None = None) -> datetime | None:
    """What a person typed: `14:05`, `14:05:30` (on the reference's day, in the display zone)
    or an ISO date-time (its own zone if it says one, else the display zone); aware, or None."""
    value = value.strip()
    in_utc = uses_utc() if utc is None else utc

    def placed(naive: datetime) -> datetime:
        # a naive local time goes through the system's rules (DST of that day, not of today)
        return naive.replace(tzinfo=UTC) if in_utc else naive.astimezone()

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            clock = time.fromisoformat(value)
        except ValueError:
            return None
        day = shown(reference, utc).date()
        if clock.tzinfo is not None:
            return datetime.combine(day, clock)
        return placed(datetime.combine(day, clock))
    return parsed if parsed.tzinfo else placed(parsed)
