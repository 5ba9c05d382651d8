"""kb.dates.resolve_date: every kind of expression, checked against a calendar by hand.

July 2019: Mon 1, Tue 2, Wed 3, Thu 4, Fri 5, Sat 6, Sun 7, Mon 8, Wed 10, Thu 11, Fri 12,
Sat 13, Sun 14, Mon 15. In July Seoul (KST) is UTC+9 and New York (EDT) UTC-4: 13 hours apart.
"""

from __future__ import annotations

from datetime import date

import pytest

from kb.dates import given_date, resolve_date

THU = date(2019, 7, 11)  # the anchor most tests count from
NY, SEOUL = "America/New_York", "Asia/Seoul"


def day(expression: str, anchor: date = THU, tz: str = NY, **kw) -> date:
    resolved = resolve_date(expression, anchor=anchor, tz=tz, **kw)
    assert resolved.precision == "day", resolved
    return resolved.value


# -- weekdays ----------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("Wednesday", date(2019, 7, 10)),
    ("On Wednesday", date(2019, 7, 10)),
    ("on wednesday,", date(2019, 7, 10)),      # any case, leading "on", trailing comma
    ("Thursday", date(2019, 7, 11)),            # the anchor's own weekday is the anchor
    ("Friday", date(2019, 7, 5)),               # past: the Friday before
    ("Monday", date(2019, 7, 8)),
    ("Sunday", date(2019, 7, 7)),
    ("Friday afternoon", date(2019, 7, 5)),
    ("early Tuesday", date(2019, 7, 9)),
])
def test_bare_weekday_points_to_the_past_by_default(expression, expected):
    assert day(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("Friday", date(2019, 7, 12)),
    ("Thursday", date(2019, 7, 11)),
    ("Wednesday", date(2019, 7, 17)),
    ("Monday", date(2019, 7, 15)),
    ("Friday afternoon", date(2019, 7, 12)),
])
def test_weekday_in_the_future_tense(expression, expected):
    assert day(expression, tense="future") == expected


@pytest.mark.parametrize("expression, expected", [
    ("last Friday", date(2019, 7, 5)),
    ("last Tuesday", date(2019, 7, 2)),
    ("next Monday", date(2019, 7, 15)),
    ("next Wednesday", date(2019, 7, 17)),
    ("this Friday", date(2019, 7, 12)),
    ("this Monday", date(2019, 7, 8)),
    ("on this Wednesday", date(2019, 7, 10)),
])
def test_last_next_this_weekday(expression, expected):
    assert day(expression) == expected


# -- today, weeks, months ------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("today", date(2019, 7, 11)),
    ("tonight", date(2019, 7, 11)),
    ("yesterday", date(2019, 7, 10)),
    ("Tomorrow", date(2019, 7, 12)),
])
def test_today_yesterday_tomorrow(expression, expected):
    assert day(expression) == expected


@pytest.mark.parametrize("expression, monday", [
    ("last week", date(2019, 7, 1)),
    ("this week", date(2019, 7, 8)),
    ("earlier this week", date(2019, 7, 8)),
    ("later this week", date(2019, 7, 8)),
    ("next week", date(2019, 7, 15)),
])
def test_weeks_are_stored_as_their_monday(expression, monday):
    resolved = resolve_date(expression, anchor=THU, tz=SEOUL)
    assert (resolved.value, resolved.precision) == (monday, "week")


@pytest.mark.parametrize("expression, anchor, first", [
    ("last month", THU, date(2019, 6, 1)),
    ("this month", THU, date(2019, 7, 1)),
    ("earlier this month", THU, date(2019, 7, 1)),
    ("later this month", THU, date(2019, 7, 1)),
    ("in the middle of this month", THU, date(2019, 7, 1)),
    ("end of the month", THU, date(2019, 7, 1)),
    ("next month", THU, date(2019, 8, 1)),
    ("next month", date(2019, 12, 20), date(2020, 1, 1)),   # across the new year
    ("last month", date(2020, 1, 10), date(2019, 12, 1)),
])
def test_months_are_stored_as_their_first_day(expression, anchor, first):
    resolved = resolve_date(expression, anchor=anchor, tz=NY)
    assert (resolved.value, resolved.precision) == (first, "month")


# -- explicit dates --------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected, precision", [
    ("July 19", date(2019, 7, 19), "day"),          # the year is the anchor's
    ("on July 4", date(2019, 7, 4), "day"),
    ("since July 4", date(2019, 7, 4), "day"),
    ("July 19, 2018", date(2018, 7, 19), "day"),
    ("June 30 2020", date(2020, 6, 30), "day"),
    ("March 2019", date(2019, 3, 1), "month"),
    ("in 2014", date(2014, 1, 1), "year"),
])
def test_explicit_dates(expression, expected, precision):
    resolved = resolve_date(expression, anchor=THU, tz=NY)
    assert (resolved.value, resolved.precision) == (expected, precision)


WED = date(2019, 7, 31)  # the day of the wire story of issue 15 (Tokyo): Wed 31 July 2019


@pytest.mark.parametrize("expression", [
    "Aug. 2", "Aug 2", "aug. 2,", "2 August", "August 2nd", "2nd of August", "on Aug. 2, 2019",
])
def test_wire_styles_of_a_day(expression):
    resolved = resolve_date(expression, anchor=WED, tz="Asia/Tokyo")
    assert (resolved.value, resolved.precision) == (date(2019, 8, 2), "day")


@pytest.mark.parametrize("expression, expected", [
    ("Sept. 5", date(2019, 9, 5)), ("Sep 5", date(2019, 9, 5)), ("Dec. 31, 2018", date(2018, 12, 31)),
    ("1st July", date(2019, 7, 1)), ("May 23rd", date(2019, 5, 23)),
])
def test_abbreviated_months_and_ordinals(expression, expected):
    assert day(expression) == expected


@pytest.mark.parametrize("expression, anchor, first, precision", [
    # parts of a month are the month: the words name no day, and a guessed one would be a fact
    # no article states (give a date by value, with its basis, when something else fixes the day)
    ("later in the month", WED, date(2019, 7, 1), "month"),
    ("earlier in the month", WED, date(2019, 7, 1), "month"),
    ("the end of the month", WED, date(2019, 7, 1), "month"),
    ("around the end of the month", WED, date(2019, 7, 1), "month"),
    ("mid-month", WED, date(2019, 7, 1), "month"),
    ("mid-July", WED, date(2019, 7, 1), "month"),
    ("in mid-June", WED, date(2019, 6, 1), "month"),
    ("early August", WED, date(2019, 8, 1), "month"),
    ("late July", WED, date(2019, 7, 1), "month"),
    ("the end of July", WED, date(2019, 7, 1), "month"),
    ("in July", WED, date(2019, 7, 1), "month"),
    ("last month", WED, date(2019, 6, 1), "month"),
    ("earlier this week", WED, date(2019, 7, 29), "week"),
    ("later in the week", WED, date(2019, 7, 29), "week"),
    ("the end of the week", WED, date(2019, 7, 29), "week"),
])
def test_parts_of_months_and_weeks(expression, anchor, first, precision):
    resolved = resolve_date(expression, anchor=anchor, tz="Asia/Tokyo")
    assert (resolved.value, resolved.precision) == (first, precision)


def test_a_wire_day_told_in_tokyo_is_not_moved_but_a_part_of_day_is():
    assert day("Aug. 2", anchor=WED, tz="Asia/Tokyo", in_tz=NY) == date(2019, 8, 2)
    assert day("early Friday", anchor=WED, tz="Asia/Tokyo", in_tz=NY, tense="future") == date(2019, 8, 1)


# -- dates given by hand -----------------------------------------------------------------------------

@pytest.mark.parametrize("precision, stored", [
    ("day", date(2019, 8, 2)), ("week", date(2019, 7, 29)), ("month", date(2019, 8, 1)), ("year", date(2019, 1, 1)),
])
def test_a_given_date_is_stored_as_the_first_day_of_its_precision(precision, stored):
    given = given_date(date(2019, 8, 2), precision, "the cabinet approved it that Friday (002)", "Asia/Tokyo")
    assert (given.value, given.precision, given.basis) == (stored, precision, "the cabinet approved it that Friday (002)")
    assert (given.expression, given.anchor, given.tz, given.stated_in) == (None, None, "Asia/Tokyo", "Asia/Tokyo")


def test_a_given_date_keeps_the_words_it_stands_for():
    assert given_date(WED, "day", "why", NY, expression="later in the month").expression == "later in the month"


@pytest.mark.parametrize("precision, basis", [("day", " "), ("fortnight", "why"), ("day", "")])
def test_a_given_date_needs_a_basis_and_a_known_precision(precision, basis):
    with pytest.raises(ValueError):
        given_date(WED, precision, basis, NY)


def test_explicit_impossible_day_is_a_value_error():
    with pytest.raises(ValueError):
        resolve_date("February 30", anchor=THU, tz=NY)


# -- counted days and weeks --------------------------------------------------------------------------

@pytest.mark.parametrize("expression, anchor, expected", [
    ("three days later", date(2019, 7, 10), date(2019, 7, 13)),
    ("2 days after", date(2019, 7, 10), date(2019, 7, 12)),
    ("a day before", THU, date(2019, 7, 10)),
    ("one day earlier", date(2019, 7, 1), date(2019, 6, 30)),      # across a month end
    ("ten days ago", THU, date(2019, 7, 1)),
    ("two weeks later", date(2019, 7, 1), date(2019, 7, 15)),
    ("three weeks later", date(2019, 8, 2), date(2019, 8, 23)),
    ("a week earlier", date(2019, 7, 15), date(2019, 7, 8)),
])
def test_n_days_or_weeks_later_or_before(expression, anchor, expected):
    assert day(expression, anchor=anchor) == expected


@pytest.mark.parametrize("expression, anchor, expected", [
    # "Kim's trip (on the 11th) came a day after" the remark: the remark was on the 10th.
    ("a day after", THU, date(2019, 7, 10)),
    ("two days before", date(2019, 7, 10), date(2019, 7, 12)),
    ("three weeks later", date(2019, 8, 23), date(2019, 8, 2)),
])
def test_invert_counts_the_other_way(expression, anchor, expected):
    assert day(expression, anchor=anchor, invert=True) == expected


def test_invert_does_not_change_an_expression_without_direction():
    assert day("Wednesday", invert=True) == date(2019, 7, 10)


# -- time zones ---------------------------------------------------------------------------------------

def test_early_saturday_kst_is_friday_in_new_york():
    # Saturday 13 July, 06:00 KST = Friday 12 July, 17:00 EDT.
    resolved = resolve_date("early Saturday (KST)", anchor=date(2019, 7, 13), tz=SEOUL, in_tz=NY)
    assert resolved.value == date(2019, 7, 12)
    assert resolved.precision == "day"
    assert (resolved.tz, resolved.stated_in) == (SEOUL, NY)
    assert resolved.expression == "early Saturday (KST)"
    assert resolved.anchor == date(2019, 7, 13)


def test_early_saturday_kst_counted_forward_from_friday():
    resolved = resolve_date("early Saturday (KST)", anchor=date(2019, 7, 12), tz=SEOUL, in_tz=NY,
                            tense="future")
    assert resolved.value == date(2019, 7, 12)


def test_without_conversion_early_saturday_stays_saturday():
    assert day("early Saturday (KST)", anchor=date(2019, 7, 13), tz=SEOUL) == date(2019, 7, 13)
    assert day("early Saturday", anchor=date(2019, 7, 13), tz=SEOUL, in_tz=SEOUL) == date(2019, 7, 13)


@pytest.mark.parametrize("expression, expected", [
    ("Saturday morning", date(2019, 7, 12)),    # 09:00 KST = Fri 20:00 EDT
    ("Saturday afternoon", date(2019, 7, 13)),  # 15:00 KST = Sat 02:00 EDT
    ("Saturday evening", date(2019, 7, 13)),    # 19:00 KST = Sat 06:00 EDT
])
def test_part_of_day_picks_the_hour_of_the_conversion(expression, expected):
    assert day(expression, anchor=date(2019, 7, 13), tz=SEOUL, in_tz=NY) == expected


def test_late_friday_in_new_york_is_saturday_in_seoul():
    # Friday 12 July, 22:00 EDT = Saturday 13 July, 11:00 KST.
    assert day("late Friday", anchor=date(2019, 7, 12), tz=NY, in_tz=SEOUL) == date(2019, 7, 13)


def test_plain_day_without_time_is_not_moved():
    resolved = resolve_date("June 30", anchor=THU, tz=SEOUL, in_tz=NY)
    assert resolved.value == date(2019, 6, 30)
    assert (resolved.tz, resolved.stated_in) == (SEOUL, NY)
    assert day("Friday", anchor=date(2019, 7, 12), tz=NY, in_tz=SEOUL) == date(2019, 7, 12)


def test_plain_day_moves_when_the_zone_is_given_explicitly():
    # zone_given: the day names an instant, at noon. June 30, 12:00 KST = June 29, 23:00 EDT.
    resolved = resolve_date("June 30", anchor=THU, tz=SEOUL, in_tz=NY, zone_given=True)
    assert resolved.value == date(2019, 6, 29)


def test_weeks_and_months_are_not_moved_between_zones():
    resolved = resolve_date("last week", anchor=date(2019, 7, 8), tz=SEOUL, in_tz=NY, zone_given=True)
    assert (resolved.value, resolved.precision) == (date(2019, 7, 1), "week")


# -- errors ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression", ["sometime soon", "the other day", "Fridayish", "Julyish", "mid-Friday", "Aug. 2nd of", ""])
def test_unreadable_expression_is_a_value_error(expression):
    with pytest.raises(ValueError, match="cannot read the date expression"):
        resolve_date(expression, anchor=THU, tz=NY)


def test_unknown_time_zone_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Atlantis'"):
        resolve_date("Friday", anchor=THU, tz="Asia/Atlantis")
    with pytest.raises(ValueError, match="unknown time zone 'KST'"):
        resolve_date("Friday", anchor=THU, tz=SEOUL, in_tz="KST")


def test_unknown_tense_is_a_value_error():
    with pytest.raises(ValueError, match="tense"):
        resolve_date("Friday", anchor=THU, tz=NY, tense="present")


@pytest.mark.parametrize("expression, anchor, tz, in_tz", [
    ("on Friday", date(1, 1, 1), NY, None),            # the Friday before Monday 1 January of year 1
    ("tomorrow", date(9999, 12, 31), NY, None),
    ("early Monday", date(1, 1, 1), SEOUL, NY),        # 1 January of year 1, which is in New York the day before
])
def test_a_date_outside_the_calendar_is_a_value_error(expression, anchor, tz, in_tz):
    with pytest.raises(ValueError, match="falls outside the years 1-9999"):
        resolve_date(expression, anchor=anchor, tz=tz, in_tz=in_tz)
