"""The quarterly satisfaction promise (R-QUAL), pure: quarters, the figures, the result.

Handbook (seed, 质量服务承诺): "每季度末铭升电子将对本季度所有已发生并且已经关闭的 CASE 进行平均分
计算 … 每季度 CASE 分数总和/每季度 CASE 数量≥4". A case counts in a quarter when it **arose
and was closed in that quarter** (both instants in the contract's duty-calendar zone): a case
that arose in Q3 and closed in Q4 counts in neither (docs/quality.md). Only a case's current
survey (its latest close) counts. How an unanswered survey counts is the contract's
``survey.unanswered``.

The aggregation runs in SQL (core.store.quality); this module turns its integer sums into the
``QuarterlyResult`` every renderer (API, CLI, reports, the quarter-end notice) shows.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from fractions import Fraction

import msgspec

from core.errors import InvalidField

__all__ = [
    "BASIS",
    "FILL",
    "ExcludedCase",
    "Quarter",
    "QuarterSums",
    "QuarterlyResult",
    "build_result",
    "figure",
    "parse_quarter",
]

BASIS = "arose-and-closed-in-quarter"
# the score an unanswered survey counts as in the handbook's figure (None: left out)
FILL: dict[str, int | None] = {"exclude": None, "lowest": 1, "neutral": 3}
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


class Quarter(msgspec.Struct, frozen=True, order=True):
    """A calendar quarter, ``2026Q3``."""

    year: int
    n: int

    def __str__(self) -> str:
        return f"{self.year}Q{self.n}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.n - 2, 1)

    @property
    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.n == 4 else Quarter(self.year, self.n + 1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.n == 1 else Quarter(self.year, self.n - 1)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.next.first_day.toordinal() - 1)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) as aware instants: local midnight of the first day and of the next
        quarter's first day in ``tz``."""
        start = datetime.combine(self.first_day, time(0), tzinfo=tz)
        return start, datetime.combine(self.next.first_day, time(0), tzinfo=tz)

    @classmethod
    def of(cls, moment: datetime, tz: tzinfo) -> Quarter:
        local = moment.astimezone(tz)
        return cls(local.year, (local.month - 1) // 3 + 1)


def parse_quarter(text: str, field: str = "$.quarter") -> Quarter:
    """``"2026Q3"`` → Quarter(2026, 3); InvalidField naming ``field`` otherwise."""
    match = _QUARTER.fullmatch(text.strip())
    if match is None:
        raise InvalidField(field, f"expected a quarter such as 2026Q3, not {text!r}")
    return Quarter(int(match.group(1)), int(match.group(2)))


class QuarterSums(msgspec.Struct, frozen=True, kw_only=True):
    """What SQL counts over a quarter's cases (core.store.quality.quarter_sums); the
    ``covered_*`` sums leave out the cases with a recorded exclusion cause."""

    cases: int
    answered: int
    score_sum: int
    covered_cases: int
    covered_answered: int
    covered_score_sum: int


class ExcludedCase(msgspec.Struct, frozen=True, kw_only=True):
    """A case of the quarter with a compensation exclusion cause recorded on its clocks."""

    case_number: str
    causes: list[str]
    score: int | None


class QuarterlyResult(msgspec.Struct, frozen=True, kw_only=True):
    """A contract's quarter as the handbook promises it, with the figure over answers beside.

    ``handbook_figure``: sum of scores / number of cases, an unanswered survey counted as
    ``unanswered_rule`` says (``exclude``: the figure over answers). ``answered_figure``: sum
    of the answers / answers. None when there is nothing to divide by. ``met``: the handbook
    figure reaches ``target`` (None: no case). ``compensation``: the promise was missed and
    the exclusion causes recorded on the cases do not account for it (``excused`` when they
    do: without those cases the figure reaches the target). ``exclusions`` lists them.
    Figures are rounded to 2 decimals (their exact fractions decide ``met``).
    """

    contract_id: str
    customer_id: str
    customer: str
    quarter: str
    period_start: date
    period_end: date  # inclusive
    basis: str
    unanswered_rule: str
    target: float
    cases: int
    answered: int
    unanswered: int
    score_sum: int
    handbook_figure: float | None
    answered_figure: float | None
    met: bool | None
    compensation: bool
    excused: bool
    figure_without_excluded: float | None
    exclusions: list[ExcludedCase]
    generated_at: datetime


def figure(score_sum: int, answered: int, cases: int, fill: int | None) -> Fraction | None:
    """The exact figure: answers plus ``fill`` per unanswered case, over the cases (None
    ``fill``: over the answers). None when the divisor is 0."""
    if fill is None:
        return Fraction(score_sum, answered) if answered else None
    return Fraction(score_sum + fill * (cases - answered), cases) if cases else None


def _shown(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 2)


def build_result(
    *,
    contract_id: str,
    customer_id: str,
    customer: str,
    quarter: Quarter,
    rule: str,
    target: float,
    sums: QuarterSums,
    exclusions: list[ExcludedCase],
    generated_at: datetime,
) -> QuarterlyResult:
    """The result from SQL's sums: the figures, whether the promise held, and whether a miss
    is excused by the cases' recorded exclusion causes."""
    fill = FILL[rule]
    handbook = figure(sums.score_sum, sums.answered, sums.cases, fill)
    goal = Fraction(str(target))
    met = None if handbook is None else handbook >= goal
    without = figure(sums.covered_score_sum, sums.covered_answered, sums.covered_cases, fill)
    missed = met is False
    excused = missed and bool(exclusions) and (without is None or without >= goal)
    return QuarterlyResult(
        contract_id=contract_id,
        customer_id=customer_id,
        customer=customer,
        quarter=str(quarter),
        period_start=quarter.first_day,
        period_end=quarter.last_day,
        basis=BASIS,
        unanswered_rule=rule,
        target=target,
        cases=sums.cases,
        answered=sums.answered,
        unanswered=sums.cases - sums.answered,
        score_sum=sums.score_sum,
        handbook_figure=_shown(handbook),
        answered_figure=_shown(figure(sums.score_sum, sums.answered, sums.cases, None)),
        met=met,
        compensation=missed and not excused,
        excused=excused,
        figure_without_excluded=_shown(without),
        exclusions=exclusions,
        generated_at=generated_at,
    )
