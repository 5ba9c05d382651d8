"""Resolve the date expressions printed in articles ("last week", "early Saturday (KST)") to ISO dates.

A resolved date keeps what it came from: the words, the anchor day they were counted from, the
precision (a week or a month is stored as its first day) and the time zones, so that an analyst can
check the arithmetic and the same instant told in two zones comes out as one date.

>>> from datetime import date
>>> resolve_date("On Wednesday", anchor=date(2019, 7, 11), tz="America/New_York").value
datetime.date(2019, 7, 10)
>>> d = resolve_date("early Saturday (KST)", anchor=date(2019, 7, 12), tz="Asia/Seoul",
...                  in_tz="America/New_York", tense="future")
>>> d.value, d.precision
(datetime.date(2019, 7, 12), 'day')
>>> resolve_date("last week", anchor=date(2019, 7, 11), tz="Asia/Seoul").value
datetime.date(2019, 7, 1)
>>> resolve_date("Aug. 2", anchor=date(2019, 7, 31), tz="Asia/Tokyo").value
datetime.date(2019, 8, 2)

Words that name part of a month or week ("mid-July", "later in the month", "the end of the
month", "earlier this week") have that month's or week's precision: they name no day, and a day
guessed from them would be a fact no article states. Where something else fixes the day, the
annotator gives it by value with its basis (`given_date`).

Why a grammar of our own and not dateparser (measured by bench/dates.py, dateparser 1.5.0 with
RELATIVE_BASE = the anchor and PREFER_DATES_FROM = the tense, on all 79 date expressions of the
seed annotations and the 9 wire styles of issue 15): dateparser gives the same day and precision
for 39 of the 88. It reads no part of a month or week ("later in the month", "mid-July",
"earlier this week": no answer), no zone or part of day ("early Friday (KST)", "on Wednesday
local time"), no "the same day"; it takes a bare weekday to be the one a week before when it is
the anchor's own day ("Thursday" in a Thursday story: 12 of the 49 misses), counts "a day
after" only forward and "three weeks later" to a week's Monday, and puts "Aug. 2" in a story of
31 July in the previous year when the past is preferred. It also takes 1.6 ms an expression to
this module's 7 µs. Growing it to these answers would take more code than the grammar below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PRECISIONS = ("day", "week", "month", "year")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
# A month as wire copy prints it: in full, or cut to three or four letters with or without a
# point ("Aug. 2", "Sept 5"); it is known by its first three letters.
MONTH_NAME = "|".join([*MONTHS, *(m[:3] for m in MONTHS), "sept"])
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10}
# The hour a part of day stands for when a day told in one zone is restated in another.
PART_OF_DAY_HOUR = {"early": 6, "morning": 9, "afternoon": 15, "evening": 19, "night": 22, "late": 22}
NOON = 12

_WEEKDAY = "|".join(WEEKDAYS)
_MONTH = rf"(?P<month>{MONTH_NAME})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_NUMBER = r"\d+|" + "|".join(NUMBER_WORDS)


@dataclass(frozen=True)
class ResolvedDate:
    """A date resolved from an article's words, with everything needed to redo the arithmetic."""

    value: date
    precision: str
    expression: str | None  # None: given by hand, with no words of the article to read
    anchor: date | None  # None: given by hand, not counted from a day
    tz: str
    stated_in: str
    basis: str | None = None  # why a date given by hand is this one


@cache  # ZoneInfo keeps only a few zones alive, and reading one from tzdata is slow
def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError names it when it does not exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Seoul)") from None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _first_of_month(day: date, months_ahead: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def _normalise(expression: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", expression.lower())  # "(KST)"
    text = re.sub(r"\blocal time\b", " ", text)
    text = re.sub(r"[.,;:]+$", "", " ".join(text.split()))
    return re.sub(r"^(on|in|since|at|by|around|from)\s+", "", text)


def _weekday(match: re.Match, anchor: date, tense: str) -> date:
    target = WEEKDAYS.index(match["weekday"])
    which = match["which"]
    if which == "last":
        return _monday(anchor) - timedelta(days=7) + timedelta(days=target)
    if which == "next":
        return _monday(anchor) + timedelta(days=7 + target)
    if which == "this":
        return _monday(anchor) + timedelta(days=target)
    if tense == "future":
        return anchor + timedelta(days=(target - anchor.weekday()) % 7)
    return anchor - timedelta(days=(anchor.weekday() - target) % 7)


def _month_number(name: str) -> int:
    return [m[:3] for m in MONTHS].index(name[:3]) + 1


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _read(text: str, anchor: date, tense: str, invert: bool) -> tuple[date, str, int | None]:
    """(first day, precision, hour or None) for a normalised expression; ValueError when not understood."""
    if text in ("today", "tonight", "this morning", "this afternoon", "this evening", "the same day",
                "same day"):
        return anchor, "day", PART_OF_DAY_HOUR.get(text.split()[-1])
    if text in ("yesterday", "tomorrow"):
        return anchor + timedelta(days=1 if text == "tomorrow" else -1), "day", None
    m = re.fullmatch(rf"(?:(?P<early>early|late)\s+)?(?:(?P<which>last|next|this)\s+)?(?P<weekday>{_WEEKDAY})"
                     rf"(?:\s+(?P<part>morning|afternoon|evening|night))?", text)
    if m:
        hour = PART_OF_DAY_HOUR.get(m["early"] or m["part"] or "")
        return _weekday(m, anchor, tense), "day", hour
    m = re.fullmatch(r"(?:(?P<which>last|this|earlier this|later this|next)\s+week"
                     r"|(?:earlier|later)\s+in\s+the\s+week|(?:the\s+)?(?:end|beginning|start)\s+of\s+(?:the|this)\s+week)",
                     text)
    if m:
        offset = {"last": -7, "next": 7}.get(m["which"] or "", 0)
        return _monday(anchor) + timedelta(days=offset), "week", None
    m = re.fullmatch(r"(?P<which>last|this|earlier this|later this|next)\s+month|mid-?month"
                     r"|(?:earlier|later)\s+in\s+the\s+month"
                     r"|(?:the\s+)?(?:middle|end|beginning|start)\s+of\s+(?:the|this)\s+month", text)
    if m:
        offset = {"last": -1, "next": 1}.get(m["which"] or "", 0)
        return _first_of_month(anchor, offset), "month", None
    m = (re.fullmatch(rf"{_MONTH}\s+{_DAY}(?:,?\s+(?P<year>\d{{4}}))?", text)
         or re.fullmatch(rf"{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<year>\d{{4}}))?", text))
    if m:
        year = int(m["year"]) if m["year"] else anchor.year
        try:
            return date(year, _month_number(m["month"]), int(m["day"])), "day", None
        except ValueError:
            raise ValueError(f"{text!r} is not a day of the calendar") from None
    m = re.fullmatch(rf"(?:mid-?|early\s+|late\s+|(?:the\s+)?(?:middle|end|beginning|start)\s+of\s+)?{_MONTH}"
                     rf"(?:,?\s+(?P<year>\d{{4}}))?", text)
    if m:
        year = int(m["year"]) if m["year"] else anchor.year
        return date(year, _month_number(m["month"]), 1), "month", None
    m = re.fullmatch(r"(?P<year>\d{4})", text)
    if m:
        return date(int(m["year"]), 1, 1), "year", None
    m = re.fullmatch(rf"(?P<n>{_NUMBER})\s+(?P<unit>day|week|month)s?\s+(?P<way>later|after|before|earlier|ago)",
                     text)
    if m:
        sign = 1 if m["way"] in ("later", "after") else -1
        if invert:
            sign = -sign
        n = sign * _count(m["n"])
        if m["unit"] == "month":
            return _first_of_month(anchor, n), "month", None
        return anchor + timedelta(days=n * (7 if m["unit"] == "week" else 1)), "day", None
    raise ValueError(f"cannot read the date expression {text!r} (see docs/annotations.md, Dates)")


def first_day(value: date, precision: str) -> date:
    """The day a date of `precision` is stored as: the Monday of its week, the 1st of its month
    or of its year.

    >>> first_day(date(2019, 8, 2), "week")
    datetime.date(2019, 7, 29)
    """
    if precision == "week":
        return _monday(value)
    if precision == "month":
        return value.replace(day=1)
    if precision == "year":
        return value.replace(month=1, day=1)
    if precision == "day":
        return value
    raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def given_date(value: date, precision: str, basis: str, tz: str, expression: str | None = None) -> ResolvedDate:
    """A date stated by the annotator where no expression the article prints says it ("later in
    the month" when the month's other reports fix the day), kept with the reason (`basis`) and,
    if any, the article's words it stands for, which are then not read.

    >>> d = given_date(date(2019, 8, 2), "day", "Japan's cabinet met that Friday (002)", "Asia/Tokyo")
    >>> d.value, d.expression, d.anchor
    (datetime.date(2019, 8, 2), None, None)
    """
    if not basis.strip():
        raise ValueError("a date given by value needs its basis: why it is this date")
    name = zone(tz).key
    return ResolvedDate(first_day(value, precision), precision, expression, None, name, name, basis)


def resolve_date(expression: str, anchor: date, tz: str, in_tz: str | None = None,
                 tense: str = "past", invert: bool = False, zone_given: bool = False) -> ResolvedDate:
    """Resolve `expression`, told in zone `tz` on day `anchor`, to a date stated in zone `in_tz`.

    A day named without a time ("Wednesday", "June 30") is the local day where the thing happens,
    as news writing means it, and is not moved. A day with a part of day ("early Saturday"), or
    one whose zone the annotation gives explicitly (`zone_given`), names an instant: it moves to
    `in_tz` by the zones' offset at the hour the part of day stands for (noon when none is given).
    """
    if tense not in ("past", "future"):
        raise ValueError(f"tense must be past or future, not {tense!r}")
    told, stated = zone(tz), zone(in_tz or tz)
    try:
        value, precision, hour = _read(_normalise(expression), anchor, tense, invert)
        if precision == "day" and told.key != stated.key and (hour is not None or zone_given):
            hour = NOON if hour is None else hour
            value = datetime(value.year, value.month, value.day, hour, tzinfo=told).astimezone(stated).date()
    except OverflowError:  # an anchor such as 0001-01-01 or 9999-12-31
        raise ValueError(f"{expression!r} from {anchor} falls outside the years 1-9999") from None
    return ResolvedDate(value, precision, expression, anchor, told.key, stated.key)
