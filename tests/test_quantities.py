"""Quantities read from typed replies, against a fixed day: the idioms a fourth dev set of
replies showed were misread (digits counted in "figures", "a few hundred k", a year after a
quarter, seasons, a per-item count beside a rate)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.assessment.quantities import durations, volumes

TODAY = date(2026, 11, 29)


def _volume(text: str) -> list[tuple[str, float]]:
    return [(q.unit, round(q.amount)) for q in volumes(text)]


def _days(text: str) -> list[int]:
    return [round(q.amount) for q in durations(text, TODAY)]


def test_a_sum_in_figures_is_that_many_digits():
    assert _volume("the API bill would be six figures a month") == [("spend", 10_000)]
    assert _volume("a 5-figure invoice every month") == [("spend", 1_000)]


def test_a_few_hundred_k_is_hundreds_of_thousands():
    assert _volume("a few hundred k requests per month") == [("requests", 11_667)]


def test_a_count_without_a_period_beside_a_rate_is_a_detail_not_a_volume():
    assert _volume("80k tickets a day and each needs several calls") == [("requests", 80_000)]
    # Alone, a count is still read (as before): nothing else states the volume.
    assert _volume("we process 10k documents") == [("requests", 10_000)]


@pytest.mark.parametrize(
    "text, days",
    [
        ("by q3", [305]),
        ("roughly Q3/Q4 2027", [305, 397]),  # the year after the second quarter holds for both
        ("end of q2 next year", [213, 365]),
        ("H1 2027", [213]),
        ("by summer 2027", [275]),
        ("before spring", [183]),
        ("target is next autumn", [366]),  # not the autumn ending tomorrow
        ("before the summer, about 6 weeks from now", [42]),  # a stated span beats a season
        ("numbers fall over time", []),  # a verb, not a season
        ("our go-live target is september 2027", [305]),
        ("by january 2028", [428]),  # not the January coming in 63 days
        ("sept '27", [305]),
        ("may 2027", [183]),
        ("the budget expires dec 31, it must be live before", [32]),
        ("by the 15th of january", [47]),
        ("by march 3rd", [94]),  # the day, not the end of March
        ("31 feb", []),  # no such day
    ],
)
def test_calendar_horizons(text, days):
    assert _days(text) == days


def test_a_head_count_beside_a_rate_is_the_team_and_a_rate_per_person_is_multiplied():
    assert _volume("we're 15 engineers and expect 10 million requests a day") == [("requests", 10_000_000)]
    assert _volume("about 40 engineers, 30 requests each a day") == [("requests", 1_200)]
    assert _volume("500 employees, maybe 20 queries per person per day") == [("requests", 10_000)]
    assert _volume("200 users") == [("users", 200)]  # alone, a head count is still read
    # the rate first, the head count after; "one" before a unit is an amount
    assert _volume("roughly one request per employee per week, we have 400 employees") == [("requests", 57)]
    assert _volume("one department, maybe 200 ppl") == [("users", 200)]
