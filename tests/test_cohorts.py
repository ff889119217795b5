"""Cohort keys and labels computed in the database equal Python's zoneinfo and Period, at the
edges that matter: local midnights that start a month, quarter or ISO week, daylight saving
changes, zones east and west of UTC, and ISO weeks that straddle a new year."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
import pytest
from ibis.backends import BaseBackend

from baton.analytics.cohorts import COHORTS, label_cohorts, utc_offset, with_cohort_key
from baton.analytics.engine import connect
from baton.analytics.period import Period
from baton.errors import InvalidInput

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "Pacific/Kiritimati", "UTC"]


def seconds(moment: dt.datetime) -> int:
    return calendar.timegm(moment.astimezone(dt.UTC).timetuple())


def moments(zone: ZoneInfo) -> list[int]:
    """Every local midnight starting a month in 2025-2027, a second either side, the Mondays
    around new year, each DST change of those years a second either side, and a spread."""
    out: set[int] = set()
    for year in (2025, 2026, 2027):
        for month in range(1, 13):
            start = seconds(dt.datetime(year, month, 1, tzinfo=zone))
            out |= {start - 1, start, start + 1}
        for day in range(26, 32):
            monday = seconds(dt.datetime(year - 1, 12, day, tzinfo=zone))
            out |= {monday - 1, monday, monday + 1}
    previous = None
    for hour in range(0, 3 * 366 * 24):
        at = seconds(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)) + hour * 3600
        offset = dt.datetime.fromtimestamp(at, zone).utcoffset()
        if previous is not None and offset != previous:
            out |= {at - 3601, at - 1, at, at + 1}
        previous = offset
        if hour % 97 == 0:
            out.add(at + 1234)
    return sorted(out)


def expected(stamps: list[int], kind: str, zone: ZoneInfo) -> list[str]:
    return [
        Period.containing(dt.datetime.fromtimestamp(s, zone).date(), kind, zone).label for s in stamps
    ]


def computed(backend: BaseBackend, stamps: list[int], kind: str, zone: ZoneInfo) -> list[str]:
    frame = pd.DataFrame(
        {"at": pd.to_datetime(stamps, unit="s"), "secs": pd.Series(stamps, dtype="int64")}
    )
    table = ibis.memtable(frame)
    keyed = with_cohort_key(table, at="at", seconds="secs", kind=kind, zone=zone)
    # labels are for small, aggregated tables, as in the funnel
    grouped = keyed.group_by(["secs", "cohort"]).aggregate(n=keyed.count())
    labelled = label_cohorts(grouped, kind).order_by("secs")
    return backend.execute(labelled).cohort.tolist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("zone_name", ZONES)
def test_cohorts_in_the_store_match_python(database_url: str, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    stamps = moments(zone)
    backend = connect(database_url)
    try:
        for kind in COHORTS:
            assert computed(backend, stamps, kind, zone) == expected(stamps, kind, zone), kind
    finally:
        backend.disconnect()


@pytest.mark.parametrize("zone_name", ZONES[:3])
def test_cohorts_on_duckdb_match_python(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    stamps = moments(zone)
    backend = ibis.duckdb.connect()
    for kind in COHORTS:
        assert computed(backend, stamps, kind, zone) == expected(stamps, kind, zone), kind


def test_the_offset_of_a_span_holds_only_its_changes() -> None:
    zone = ZoneInfo("America/New_York")
    q3 = [seconds(b.replace(tzinfo=dt.UTC)) for b in Period.parse("2026-Q3", zone).bounds()]
    # no DST change in July to September: one constant, -4 hours
    assert str(utc_offset(ibis.literal(0), zone, (q3[0], q3[1])).op().value) == "-14400"  # type: ignore[attr-defined]


def test_an_unknown_cohort_is_refused() -> None:
    table = ibis.table({"at": "timestamp", "secs": "int64"}, name="t")
    with pytest.raises(InvalidInput, match="week, month, quarter"):
        with_cohort_key(table, at="at", seconds="secs", kind="day", zone=ZoneInfo("UTC"))
