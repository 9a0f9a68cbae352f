"""A document as JSON, a self-contained HTML page (inline CSS and SVG charts, the customer
reports' style sheet) or a PDF (that page through core.reports.render.html_to_pdf: WeasyPrint
with the Noto CJK fonts)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import jinja2
import msgspec
from markupsafe import Markup

from core import charts
from core.documents.model import AssessmentDoc, Document, StageSummaryDoc
from core.reports.render import duration, html_to_pdf, percent

Format = Literal["json", "html", "pdf"]
FORMATS: tuple[Format, ...] = ("json", "html", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
LEVELS = {"high": "高 high", "medium": "中 medium", "low": "低 low"}
DECISIONS = {"approved": "批准 approved", "rejected": "否决 rejected", None: "未审核 not reviewed"}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("core.documents", "templates"),
                jinja2.PackageLoader("core.reports", "templates"),  # _style.html
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    env.filters["percent"] = percent
    env.globals.update(levels=LEVELS, decisions=DECISIONS)
    return env


ENVIRONMENT = _environment()


def document_charts(doc: Document) -> dict[str, Markup]:
    out: dict[str, Markup] = {}
    if isinstance(doc, StageSummaryDoc):
        rows = [r for r in doc.cases if r.dimension == "service_type"]
        if rows:
            out["cases"] = Markup(
                charts.horizontal_bar_chart(
                    "服务类型 Cases by service type", [r.key for r in rows], [r.cases for r in rows]
                )
            )
        if doc.sla:
            series = [
                charts.Series("达成 met", tuple(r.met for r in doc.sla)),
                charts.Series("超时 breached", tuple(r.breached for r in doc.sla)),
            ]
            out["sla"] = Markup(
                charts.stacked_bar_chart("服务水平 SLA clocks", [r.kind for r in doc.sla], series)
            )
    if isinstance(doc, AssessmentDoc):
        cases: Counter[str] = Counter()
        for d in doc.devices:
            cases[d.device.serial] = sum(f.cases for f in d.faults)
        shown = [(s, n) for s, n in cases.most_common() if n]
        if shown:
            out["faults"] = Markup(
                charts.horizontal_bar_chart(
                    "设备故障案件 Fault cases per device",
                    [s for s, _ in shown],
                    [n for _, n in shown],
                )
            )
    return out


def to_html(doc: Document) -> str:
    zone = ZoneInfo(doc.header.tz)

    def local(value: datetime | None) -> str:
        return "–" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return ENVIRONMENT.get_template(f"{doc.header.kind}.html").render(
        doc=doc, h=doc.header, local=local, charts=document_charts(doc)
    )


def render(doc: Document, fmt: Format) -> bytes:
    if fmt == "json":
        return msgspec.json.encode(doc)
    if fmt == "html":
        return to_html(doc).encode("utf-8")
    return html_to_pdf(to_html(doc))
