"""Quantities in typed replies: volumes ("2M calls a month", "~400 people") and durations
("6 weeks", "half a year", "by Q3"), in the units the framework's measures use (per day; days).

Pure: ``today`` is passed in, so "by Q3" means the same thing in a test as on that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

# Vague amounts read as their typical value: "a few thousand" is closer to 3,000 than to 1,000.
_VAGUE = {
    "a handful of": 5,
    "handful of": 5,
    "a handful": 5,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "couple": 2,
    "a few": 3.5,
    "few": 3.5,
    "several": 4,
    "a dozen": 12,
    "dozens of": 30,
    "dozens": 30,
    "hundreds of": 300,
    "hundreds": 300,
    "thousands of": 3_000,
    "thousands": 3_000,
    "tens of": 30,
    "millions of": 3_000_000,
    "millions": 3_000_000,
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "eighteen": 18,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
    "half a": 0.5,
    "half an": 0.5,
}
_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mil": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "hundred": 1e2,
}
_VOLUME_UNITS = {
    "requests": (
        "request",
        "requests",
        "req",
        "reqs",
        "call",
        "calls",
        "queries",
        "query",
        "prompts",
        "prompt",
        "messages",
        "message",
        "transcripts",
        "transcript",
        "documents",
        "docs",
        "tickets",
        "conversations",
        "completions",
        "chats",
        "questions",
        "invocations",
        "emails",
        "rps",
        "qps",
        "tps",
        "rpm",
        "qpm",
        "searches",
        "lookups",
        "images",
        "pages",
        "files",
        "records",
        "jobs",
        "runs",
    ),
    "users": (
        "users",
        "user",
        "people",
        "persons",
        "employees",
        "staff",
        "seats",
        "agents",
        "customers",
        "engineers",
        "developers",
        "devs",
        "clients",
        "accounts",
        "reps",
        "members",
        "subscribers",
        "students",
        "patients",
        "colleagues",
        "analysts",
        "ppl",
        "folks",
        "heads",
        "teammates",
    ),
    "tokens": ("tokens", "token"),
}
# Rates per second or minute ("5 rps") are peaks more often than averages.
_RATE_UNITS = {"rps": 86_400, "qps": 86_400, "tps": 86_400, "rpm": 1_440, "qpm": 1_440}
_PER_DAY = {
    "second": 86_400,
    "sec": 86_400,
    "s": 86_400,
    "minute": 1_440,
    "min": 1_440,
    "hour": 24,
    "hr": 24,
    "h": 24,
    "day": 1,
    "d": 1,
    "week": 1 / 7,
    "wk": 1 / 7,
    "month": 1 / 30,
    "mo": 1 / 30,
    "year": 1 / 365,
    "yr": 1 / 365,
}
_ADVERB_PER = {
    "daily": "day",
    "hourly": "hour",
    "weekly": "week",
    "monthly": "month",
    "yearly": "year",
    "annually": "year",
}
_DAYS = {
    "day": 1,
    "days": 1,
    "week": 7,
    "weeks": 7,
    "wk": 7,
    "wks": 7,
    "fortnight": 14,
    "fortnights": 14,
    "month": 30,
    "months": 30,
    "mo": 30,
    "quarter": 91,
    "quarters": 91,
    "year": 365,
    "years": 365,
    "yr": 365,
    "yrs": 365,
}
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

# "six figures a month": a sum with that many digits, read as its typical value (300,000).
_DIGITS = {"four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8}
_FIGURES = re.compile(r"\b(four|five|six|seven|eight|[4-8])[- ]figures?\b", re.I)

# Month names and their usual short forms ("may" only in full: it is also a verb).
_MONTH_NAMES = {name: n for n, name in enumerate(_MONTHS, 1)} | {
    short: n
    for n, shorts in enumerate(
        (
            ("jan",),
            ("feb",),
            ("mar",),
            ("apr",),
            (),
            ("jun",),
            ("jul",),
            ("aug",),
            ("sep", "sept"),
            ("oct",),
            ("nov",),
            ("dec",),
        ),
        1,
    )
    for short in shorts
}

_NUMBER = r"(\d+(?:[.,]\d+)*)\s*(k|mm|m|mil|bn|b|thousand|million|billion|hundred)?\b"
_VAGUE_RE = "|".join(sorted((re.escape(k) for k in _VAGUE), key=len, reverse=True))
_AMOUNT = re.compile(
    rf"(?:(?P<vague>\b(?:{_VAGUE_RE}))\s+(?:(?P<vscale>thousand|million|billion|hundred)s?\b)?"
    rf"(?:\s*(?P<vscale2>k|thousand)\b)?|"
    rf"{_NUMBER})",
    re.I,
)


@dataclass(frozen=True)
class Quantity:
    unit: str  # requests | users | tokens | spend (per day) or days
    amount: float
    text: str  # the words it was read from, for the explanation
    # Read with a guess: a unit inferred from a bare "300 … daily", or a per-second peak.
    estimated: bool = False


def _number(match: re.Match) -> float | None:
    if match.group("vague"):
        base = _VAGUE[match.group("vague").lower()]
        scale = match.group("vscale")
        value = base * _SCALE[scale.lower()] if scale else base
        return value * 1e3 if match.group("vscale2") else value  # "a few hundred k"
    return _number_parts(match.group(4), match.group(5))


def _unit_after(rest: str) -> str | None:
    words = re.findall(r"[a-z]+", rest.lower())[:3]
    for word in words:
        for unit, names in _VOLUME_UNITS.items():
            if word in names:
                return unit
    return None


def _per_after(rest: str) -> float | None:
    head = rest.lower()[:40]
    match = re.match(
        r"\s*(?:[a-z]+\s+){0,3}?(?:a|an|per|each|every|/|a single)\s*(second|sec|minute|min|hour|hr|h|"
        r"day|d|week|wk|month|mo|year|yr)\b",
        head,
    )
    if match:
        return _PER_DAY[match.group(1)]
    match = re.match(r"\s*(?:[a-z]+\s+){0,3}?(daily|hourly|weekly|monthly|yearly|annually)\b", head)
    if match:
        return _PER_DAY[_ADVERB_PER[match.group(1)]]
    return None


def volumes(text: str) -> list[Quantity]:
    """Every volume stated in ``text``, per day. A number with neither a unit nor a period
    ("it's 3 of us") is not a volume; a unit given once carries to a bare number after it
    ("10 users, could be 10k"). A range ("5-10k") is one amount, its geometric middle; money
    ("a bill of 80k/month", "$2,000 a month") is spend per day."""
    text = re.sub(r"(?<=\w)-?ish\b", "", text)  # "twenty-ish", "50ish"
    text = _FIGURES.sub(lambda m: f"${3 * 10 ** (_DIGITS[m.group(1).lower()] - 1):d}", text)  # figures are money
    found: list[Quantity] = []
    periodic: list[bool] = []
    per_person: list[bool] = []
    last_unit = None
    skip_to = -1
    for match in _AMOUNT.finditer(text):
        if match.start() < skip_to:
            continue
        if (
            match.group("vague")
            and match.group("vague").lower() in ("a", "an", "one")
            and not match.group("vscale")
            and not (match.group("vague").lower() == "one" and _unit_after(text[match.end() :].split(",")[0][:20]))
        ):
            continue  # "a day", "an hour": a period, not an amount ("one request a week" is one)
        amount = _number(match)
        if amount is None:
            continue
        end = match.end()
        upper = None if match.group("vague") else re.match(r"\s*(?:-|–|to)\s*" + _NUMBER, text[end:], re.I)
        if upper is not None:
            top = _number_parts(upper.group(1), upper.group(2))
            if top is not None:
                if not match.group(5) and upper.group(2):
                    amount *= _SCALE[upper.group(2).lower()]  # "5-10k": both thousands
                amount = (max(amount, 0.0) * top) ** 0.5
                end += upper.end()
                skip_to = end
        rest = text[end:]
        unit = _unit_after(rest)
        per = _per_after(rest)
        estimated = False
        rate = re.match(r"\s*(rps|qps|tps|rpm|qpm)\b", rest.lower())
        if rate:
            per, estimated = _RATE_UNITS[rate.group(1)], True
        money = _money(text, match.start(), rest)
        if money and unit is None:
            if per is None:
                continue  # a sum without a period says nothing about volume
            unit = "spend"
        if unit is None and per is not None:
            unit, estimated = last_unit or "requests", last_unit is None
        if unit is None and last_unit is not None and not re.match(r"\s*(%|percent|years?|months?|weeks?|days?)", rest):
            unit = last_unit
        if unit is None:
            continue
        last_unit = unit
        per_day = amount * per if per is not None and unit != "users" else amount
        found.append(Quantity(unit, per_day, text[match.start() : end + 30].strip(), estimated))
        periodic.append(per is not None or unit == "users")
        per_person.append(unit != "users" and per is not None and bool(_PER_PERSON.match(rest)))
    people = [q.amount for q in found if q.unit == "users"]
    if people:
        # "40 engineers, 30 requests each a day", "one request per employee a week, 400 of us":
        # the rate is per person.
        found = [replace(q, amount=q.amount * people[0]) if each else q for q, each in zip(found, per_person)]
    if any(periodic):
        # "80k tickets a day, each needs several calls": a count without a period beside a
        # rate is a per-item detail, not a second volume.
        found = [q for q, has_period in zip(found, periodic) if has_period]
    if any(q.unit != "users" for q in found):
        # A rate measures the volume; a head count beside it ("15 engineers, 10M requests a
        # day") is the team or is already in the rate.
        found = [q for q in found if q.unit != "users"]
    return found


_PER_PERSON = re.compile(
    r"\s*(?:[a-z]+\s+){0,2}?(?:each|apiece|per (?:user|person|head|seat|dev|developer|engineer|employee|agent|"
    r"analyst|rep|customer))\b",
    re.I,
)


def _number_parts(digits: str, scale: str | None) -> float | None:
    try:
        value = (
            float(digits.replace(",", ""))
            if re.fullmatch(r"\d{1,3}(,\d{3})+", digits)
            else float(digits.replace(",", "."))
        )
    except ValueError:
        return None
    return value * _SCALE[scale.lower()] if scale else value


def _money(text: str, start: int, rest: str) -> bool:
    """Whether the amount at ``start`` is a sum of money: a currency sign or word next to it, or
    a bill, spend or cost just before it."""
    before = text[max(0, start - 40) : start].lower()
    return bool(
        re.search(r"[$€£]\s*$", before)
        or re.match(r"\s*(k|m)?\s*(usd|eur|gbp|dollars?|euros?|bucks|pounds)\b", rest.lower())
        or re.search(r"\b(bill|billing|spend|spending|costs?|invoice|paying|pay)\b", before)
    )


# The month a season ends in (northern hemisphere, as most deadlines are written).
_SEASON_END = {"spring": 5, "summer": 8, "autumn": 11, "fall": 11, "winter": 2}


def _quarter_end(quarter: int, today: date) -> date:
    month = quarter * 3
    year = today.year
    end = date(year, month, 30 if month in (6, 9) else 31)
    return end if end >= today else date(year + 1, month, end.day)


def _last_day(year: int, month: int) -> date:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _month_end(month: int, today: date) -> date:
    """The end of the next such month (this one if it has not ended)."""
    return _last_day(today.year if month >= today.month else today.year + 1, month)


def durations(text: str, today: date) -> list[Quantity]:
    """Every time horizon in ``text``, in days from ``today``."""
    lowered = text.lower()
    found: list[Quantity] = []
    for match in re.finditer(
        rf"(?:(\d+(?:\.\d+)?)\s*\+?|\b({_VAGUE_RE}))\s*-?\s*(days?|weeks?|wks?|months?|mo|"
        r"quarters?|years?|yrs?|fortnights?)\b",
        lowered,
    ):
        amount = float(match.group(1)) if match.group(1) else float(_VAGUE[match.group(2)])
        found.append(Quantity("days", amount * _DAYS[match.group(3)], match.group(0)))
    for match in re.finditer(r"\b(?:by|before|in|until|for)?\s*(?:the\s+)?(?:end of\s+)?(q[1-4]|h[12])\b", lowered):
        part = match.group(1)
        quarter = int(part[1]) if part[0] == "q" else 2 * int(part[1])
        # A year just after ("q3/q4 2027", "h1 '27", "q2 next year") fixes which one is meant.
        year = re.match(
            r"[\s/,&-]*(?:(?:q[1-4]|h[12]|and|or|to)[\s/,&-]*)*(?:(20\d\d)|'(\d\d)|fy(\d\d)|(next year))",
            lowered[match.end() :],
        )
        end = _quarter_end(quarter, today)
        if year and year.group(4):
            end = date(today.year + 1, end.month, end.day)
        elif year:
            end = date(int(year.group(1) or "20" + (year.group(2) or year.group(3))), end.month, end.day)
        found.append(Quantity("days", (end - today).days, match.group(0).strip()))
    for match in re.finditer(r"\b(next|this)\s+(week|month|quarter|year)\b", lowered):
        span = {"week": 7, "month": 30, "quarter": 91, "year": 365}[match.group(2)]
        found.append(Quantity("days", span if match.group(1) == "next" else span / 2, match.group(0)))
    for match in re.finditer(r"\b(?:end of (?:the )?year|year[- ]end|eoy)\b", lowered):
        found.append(Quantity("days", (date(today.year, 12, 31) - today).days, match.group(0)))
    year_after = r"(?:\s+|,\s*)(?:(20\d\d)|'(\d\d))\b"
    for match in re.finditer(
        r"\b(?:by|before|until|in)\s+("
        + "|".join(_MONTHS)
        + r")\b(?!"
        + year_after
        + r"|\s+\d{1,2}(?:st|nd|rd|th)?\b)",
        lowered,
    ):
        end = _month_end(_MONTHS.index(match.group(1)) + 1, today)
        found.append(Quantity("days", (end - today).days, match.group(0)))
    # "september 2027", "sept '27": that month of that year, with or without "by".
    for match in re.finditer(r"\b(" + "|".join(_MONTH_NAMES) + r")\.?" + year_after, lowered):
        month = _MONTH_NAMES[match.group(1)]
        year = int(match.group(2) or "20" + match.group(3))
        end = _last_day(year, month)
        found.append(Quantity("days", (end - today).days, match.group(0)))
    # "Dec 31", "31st of January", "by jan 15 2027": that day (the next one, without a year).
    names = "|".join(_MONTH_NAMES)
    for match in re.finditer(
        rf"\b(?:({names})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({names})\.?)"
        rf"(?:,?\s+(20\d\d))?\b(?!\s*(?:am|pm|%|k\b|users|requests|calls))",
        lowered,
    ):
        month = _MONTH_NAMES[match.group(1) or match.group(4)]
        day = int(match.group(2) or match.group(3))
        if not 1 <= day <= _last_day(2028, month).day:  # a leap year: 29 February is a day
            continue
        year = int(match.group(5)) if match.group(5) else today.year
        when = date(year, month, min(day, _last_day(year, month).day))
        if when < today and not match.group(5):
            when = date(year + 1, month, min(day, _last_day(year + 1, month).day))
        found.append(Quantity("days", (when - today).days, match.group(0)))
    seasons = r"(spring|summer|autumn|fall|winter)"
    # A season is a guess at a date (hemisphere, which year); a stated span ("6 weeks") wins.
    for match in (
        []
        if found
        else re.finditer(
            rf"\b(?:(by|before|in|until|over|next|this|end of)\s+(?:the\s+)?{seasons}\b\s*(20\d\d)?|{seasons}\s+(20\d\d))",
            lowered,
        )
    ):
        month = _SEASON_END[match.group(2) or match.group(4)]
        year_text = match.group(3) or match.group(5)
        end = _month_end(month, today)
        if year_text:
            year = int(year_text) + (month < 3)  # "winter 2027" ends in February 2028
            end = _last_day(year, month)
        elif match.group(1) == "next" and (end - today).days < 92:
            end = date(end.year + 1, end.month, 28 if end.month == 2 else end.day)  # not the one ending now
        found.append(Quantity("days", (end - today).days, match.group(0).strip()))
    if re.search(r"\b(yesterday|today|tomorrow)\b", lowered):
        found.append(Quantity("days", 1, "yesterday/today"))
    return found
