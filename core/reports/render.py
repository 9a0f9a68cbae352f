"""A report as JSON, CSV (a zip with one table per section), HTML with SVG charts, and PDF.

The HTML page is self-contained (inline CSS and SVG, no CDN); the PDF is that page rendered by
WeasyPrint, whose text uses the Noto CJK fonts found through fontconfig (``fonts-noto-cjk``;
scripts/report_fonts.sh installs them), so Chinese customer names and labels render.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
import msgspec
from markupsafe import Markup

from core import charts
from core.event_labels import bilingual
from core.reports.model import (
    DIMENSIONS,
    ClockRow,
    CountRow,
    ExclusionRow,
    FirstTimeFix,
    Percentiles,
    Report,
    RmaRow,
    SatisfactionPoint,
)

Format = Literal["json", "csv", "html", "pdf"]
FORMATS: tuple[Format, ...] = ("json", "csv", "html", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "application/zip",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
EXTENSIONS = {"json": "json", "csv": "zip", "html": "html", "pdf": "pdf"}

# section titles, Chinese first (the customers read Chinese), as the HTML and PDF show them
TITLES = {
    "statistics": "案件统计 Case statistics",
    "major": "重大案件 Major (P1) cases",
    "sla": "服务水平达成 SLA compliance",
    "fix": "一次修复率与响应时间 First-time fix and response times",
    "rma": "备件返修周期 RMA turnaround by vendor",
    "satisfaction": "满意度与投诉 Satisfaction and complaints",
}
DIMENSION_TITLES = {
    "service_type": "服务类型 Service type",
    "priority": "优先级 Priority",
    "channel": "渠道 Channel",
    "zone": "区域 Zone",
    "request_type": "请求类型 Request type",
}


def to_json(report: Report) -> bytes:
    return msgspec.json.encode(report)


# --- CSV -------------------------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")  # the BOM: spreadsheets then read UTF-8


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _table(rows: Sequence[msgspec.Struct], kind: type[msgspec.Struct]) -> bytes:
    fields = kind.__struct_fields__
    return _csv(fields, ([getattr(r, f) for f in fields] for r in rows))


def _satisfaction_rows(report: Report) -> list[tuple[Any, ...]]:
    sat = report.satisfaction
    if not sat.trend:
        return [(report.period.label, *[None] * 7, sat.available, sat.note)]
    return [
        (*(getattr(p, f) for f in SatisfactionPoint.__struct_fields__), sat.available, sat.note)
        for p in sat.trend
    ]


def csv_tables(report: Report) -> dict[str, bytes]:
    """One CSV per section, by file name."""
    timeline = [
        (c.number, c.summary, c.status, e.seq, e.at, e.kind, bilingual(e.kind), e.actor)
        for c in report.major_cases
        for e in c.timeline
    ]
    return {
        "statistics.csv": _table(report.statistics, CountRow),
        "major_cases.csv": _csv(
            ("number", "summary", "status", "seq", "at", "kind", "step", "actor"), timeline
        ),
        "sla.csv": _table(report.sla, ClockRow),
        "exclusions.csv": _table(report.exclusions, ExclusionRow),
        "first_time_fix.csv": _table([report.first_time_fix], FirstTimeFix),
        "percentiles.csv": _table(report.percentiles, Percentiles),
        "rma.csv": _table(report.rma, RmaRow),
        "satisfaction.csv": _csv(
            (*SatisfactionPoint.__struct_fields__, "available", "note"),
            _satisfaction_rows(report),
        ),
    }


def to_csv_zip(report: Report) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in csv_tables(report).items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# --- HTML ------------------------------------------------------------------------------------


def duration(seconds: int | None) -> str:
    """``1d 2h``, ``3h 05m``, ``12m``: how long, for people."""
    if seconds is None:
        return "–"
    minutes = max(0, seconds) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins:02d}m" if hours else f"{mins}m"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _hours(seconds: int | None) -> float:
    return round(max(0, seconds or 0) / 3600, 2)  # charts draw no negative bars


def build_charts(report: Report) -> dict[str, Markup]:
    """The page's SVG charts by name (core.charts), only for sections with data."""
    out: dict[str, Markup] = {}
    for dimension in DIMENSIONS:
        rows = [r for r in report.statistics if r.dimension == dimension]
        if rows:
            out[dimension] = Markup(
                charts.horizontal_bar_chart(
                    DIMENSION_TITLES[dimension], [r.key for r in rows], [r.cases for r in rows]
                )
            )
    if report.sla:
        kinds = [r.kind for r in report.sla]
        series = [
            charts.Series("达成 met", tuple(r.met for r in report.sla)),
            charts.Series(
                "超时 breached", tuple(r.breached - r.breached_excluded for r in report.sla)
            ),
            charts.Series("免责 excluded", tuple(r.breached_excluded for r in report.sla)),
            # still open and not late: the stacks then add up to the clocks (a clock running
            # past its deadline is counted once, as breached)
            charts.Series(
                "进行中 open",
                tuple(max(0, r.clocks - r.met - r.breached - r.cancelled) for r in report.sla),
            ),
        ]
        out["sla"] = Markup(charts.stacked_bar_chart(TITLES["sla"], kinds, series))
    overall = [p for p in report.percentiles if p.priority == "*"]
    if overall:
        names = [p.measure for p in overall]
        series = [
            charts.Series(f"p{n} (h)", tuple(_hours(getattr(p, f"p{n}")) for p in overall))
            for n in (50, 90, 95)
        ]
        out["percentiles"] = Markup(
            charts.vertical_bar_chart("响应与解决时间 Hours to respond / resolve", names, series)
        )
    if report.rma:
        out["rma"] = Markup(
            charts.horizontal_bar_chart(
                "返修周期中位数 RMA turnaround p50",
                [r.vendor for r in report.rma],
                [_hours(r.p50) for r in report.rma],
                unit=" h",
            )
        )
    # a quarter without cases has no score: it stays in the table, not on the line as a 0
    trend = [p for p in report.satisfaction.trend if p.cases]
    if trend:
        out["satisfaction"] = Markup(
            charts.line_chart(
                "满意度趋势 Satisfaction trend",
                [p.period for p in trend],
                [
                    charts.Series("手册口径 handbook", tuple(p.handbook_score or 0 for p in trend)),
                    charts.Series("按答复 answers", tuple(p.answers_score or 0 for p in trend)),
                ],
            )
        )
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("core.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    env.filters["percent"] = percent
    env.filters["step"] = bilingual
    return env


ENVIRONMENT = _environment()


def to_html(report: Report) -> str:
    zone = ZoneInfo(report.period.tz)

    def local(value: datetime | None) -> str:
        return "–" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return ENVIRONMENT.get_template("report.html").render(
        report=report,
        titles=TITLES,
        dimension_titles=DIMENSION_TITLES,
        charts=build_charts(report),
        local=local,
        totals=report.totals(),
    )


# --- PDF -------------------------------------------------------------------------------------


def html_to_pdf(html: str) -> bytes:
    """A self-contained page as a PDF (WeasyPrint; fonts through fontconfig, nothing fetched).
    The customer reports and the documents (core/documents) both print through here."""
    from weasyprint import HTML  # imported here: loading pango costs ~0.3 s

    def no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"reports fetch nothing ({url})")

    return bytes(HTML(string=html, url_fetcher=no_fetch).write_pdf())


def to_pdf(report: Report) -> bytes:
    """The HTML page as a PDF."""
    return html_to_pdf(to_html(report))


def render(report: Report, fmt: Format) -> bytes:
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        return to_csv_zip(report)
    if fmt == "html":
        return to_html(report).encode("utf-8")
    return to_pdf(report)
