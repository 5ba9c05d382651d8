"""kb.dates against dateparser (PyPI, with RELATIVE_BASE = the anchor) on every date expression of
the seed annotations and on the wire styles of issue 15: same answers, and how fast.

    pip install dateparser && python bench/dates.py

An answer is the same when dateparser's date, brought to the first day of the period it reports
(`get_date_data().period`), is kb.dates' value and that period is kb.dates' precision. The result
is written into kb/dates.py's docstring by hand (it decided which of the two kb uses).
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dateparser.date import DateDataParser  # noqa: E402

from kb.annotations import load_corpus  # noqa: E402
from kb.dates import first_day, resolve_date  # noqa: E402

# (expression, anchor, tz) as a wire story of Wednesday 31 July 2019 in Tokyo prints them
WIRE = [(e, date(2019, 7, 31), "Asia/Tokyo") for e in (
    "Aug. 2", "Aug 2", "2 August", "August 2nd", "later in the month", "earlier this week", "mid-July",
    "the end of the month", "last month")]


def cases() -> list[tuple[str, date, str, str, object]]:
    """(expression, anchor, tz, tense, kb.dates' answer) of every seed date and wire style."""
    corpus = load_corpus(ROOT)
    out = []
    for report in corpus.reports:
        for key, (spec, _) in report.raw_dates.items():
            spec = spec if isinstance(spec, dict) else {"expr": spec}
            if key in report.dates and report.dates[key].expression is not None:
                out.append((spec["expr"], report.dates[key].anchor, report.dates[key].tz,
                            str(spec.get("tense", "past")), report.dates[key]))
    for expression, anchor, tz in WIRE:
        out.append((expression, anchor, tz, "past", resolve_date(expression, anchor, tz)))
    return out


def main() -> None:
    rows = cases()
    same, different, timed = 0, [], 0.0
    for expression, anchor, tz, tense, ours in rows:
        parser = DateDataParser(languages=["en"], settings={
            "PREFER_DATES_FROM": tense, "RELATIVE_BASE": datetime(anchor.year, anchor.month, anchor.day, 12)})
        t = time.perf_counter()
        data = parser.get_date_data(expression)
        timed += time.perf_counter() - t
        theirs = None if data.date_obj is None else (first_day(data.date_obj.date(), data.period), data.period)
        if theirs == (ours.value, ours.precision):
            same += 1
        else:
            different.append((expression, str(anchor), (str(ours.value), ours.precision), theirs))
    t = time.perf_counter()
    for expression, anchor, tz, tense, _ in rows:
        resolve_date(expression, anchor, tz, tense=tense)
    ours_time = time.perf_counter() - t
    print(f"{len(rows)} expressions ({len(rows) - len(WIRE)} of the seeds, {len(WIRE)} wire styles): "
          f"dateparser gives the same day and precision for {same}")
    for expression, anchor, ours, theirs in different:
        print(f"  {expression!r} from {anchor}: kb.dates {ours}, dateparser {theirs}")
    print(f"dateparser: {timed / len(rows) * 1e6:.0f} µs an expression; kb.dates: {ours_time / len(rows) * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
