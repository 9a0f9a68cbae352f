"""Server-made SVG charts: bar (horizontal/vertical), stacked bar and line charts.

Pure and dependency-free (standard library only). Every chart is a complete ``<svg>`` element
with ``role="img"``, an ``aria-label``, a ``<title>`` and a ``<desc>``; every bar and point
carries its own ``<title>`` so a screen reader (and a mouse hover) gets the exact value. Labels
are XML-escaped, so Chinese text and ``<&">`` are safe. Output is deterministic: the same input
gives byte-identical SVG (no random ids, no clock, fixed number formatting).

The palette has a contrast ratio of at least 4.5:1 against white for every series colour and for
the text, so the charts pass WCAG AA for graphics and text. Page authors put the returned string
straight into a template (it is already escaped; mark it safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# Each colour has a contrast ratio >= 4.5:1 against white (checked in tests/test_charts.py).
PALETTE: tuple[str, ...] = (
    "#1f5fa8",  # blue
    "#b3261e",  # red
    "#2e7d32",  # green
    "#8a4b08",  # brown/orange
    "#6a1b9a",  # purple
    "#00695c",  # teal
    "#4e4e4e",  # grey
    "#ad1457",  # magenta
)
TEXT = "#1a1a1a"
AXIS = "#595959"
GRID = "#d9d9d9"
BACKGROUND = "#ffffff"
FONT = "font-family=\"system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\""

WIDTH = 640
ROW_HEIGHT = 28
MARGIN_TOP = 36
MARGIN_BOTTOM = 48
LABEL_COLUMN = 160
PLOT_HEIGHT = 240


@dataclass(frozen=True)
class Series:
    """One named series of values, aligned with the chart's categories."""

    name: str
    values: tuple[float, ...]


def fmt(value: float) -> str:
    """A number as chart text: integers without decimals, others with at most two."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _num(value: float) -> str:
    """A coordinate, rounded to 0.1 so output is stable across platforms."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(
    x: float, y: float, body: str, anchor: str = "start", extra: str = "", size: int = 12
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="{TEXT}"'
        f' font-size="{size}"{extra}>{escape(body)}</text>'
    )


def _open(width: int, height: int, title: str, desc: str, kind: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)}'
        f' class="chart chart-{kind}" {FONT}>',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(desc)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{BACKGROUND}"/>',
        _text(8, 20, title, extra=' font-weight="bold"', size=14),
    ]


def _scale_max(values: Sequence[float]) -> float:
    top = max([0.0, *values])
    return top if top > 0 else 1.0


def _describe(categories: Sequence[str], series: Sequence[Series]) -> str:
    parts = []
    for s in series:
        pairs = ", ".join(f"{c}: {fmt(v)}" for c, v in zip(categories, s.values, strict=True))
        parts.append(f"{s.name}: {pairs}" if len(series) > 1 else pairs)
    return "; ".join(parts)


def _bar(x: float, y: float, w: float, h: float, colour: str, tip: str, value: float) -> str:
    return (
        f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"'
        f' fill="{colour}" data-value="{fmt(value)}"><title>{escape(tip)}</title></rect>'
    )


def _legend(series: Sequence[Series], y: float) -> list[str]:
    if len(series) < 2:
        return []
    out, x = ['<g class="legend">'], 8.0
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{_num(x)}" y="{_num(y - 10)}" width="10" height="10" fill="{colour}"/>'
        )
        out.append(_text(x + 14, y, s.name))
        x += 24 + 8 * len(s.name) + 8 * sum(1 for ch in s.name if ord(ch) > 0x2E80)
    out.append("</g>")
    return out


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(categories)} categories"
            )
        for v in s.values:
            if v < 0:
                raise ValueError(f"series {s.name!r} has a negative value {v}")


def horizontal_bar_chart(
    title: str, categories: Sequence[str], values: Sequence[float], unit: str = ""
) -> str:
    """One bar per category, laid out as rows (good for long labels such as customer names)."""
    series = [Series(title, tuple(values))]
    _check(categories, series)
    height = MARGIN_TOP + ROW_HEIGHT * max(1, len(categories)) + 16
    plot = WIDTH - LABEL_COLUMN - 64
    top = _scale_max(values)
    out = _open(WIDTH, height, title, _describe(categories, series), "hbar")
    out.append(
        f'<line x1="{LABEL_COLUMN}" y1="{MARGIN_TOP - 4}" x2="{LABEL_COLUMN}"'
        f' y2="{height - 12}" stroke="{AXIS}"/>'
    )
    for i, (cat, val) in enumerate(zip(categories, values, strict=True)):
        y = MARGIN_TOP + i * ROW_HEIGHT
        w = plot * val / top
        out.append(_text(LABEL_COLUMN - 6, y + 16, cat, "end", ' class="label"'))
        out.append(
            _bar(
                LABEL_COLUMN, y + 4, w, ROW_HEIGHT - 8, PALETTE[0], f"{cat}: {fmt(val)}{unit}", val
            )
        )
        out.append(_text(LABEL_COLUMN + w + 4, y + 16, f"{fmt(val)}{unit}", extra=' class="value"'))
    out.append("</svg>")
    return "".join(out)


def _value_axis(top: float, x0: float, x1: float, y_base: float) -> list[str]:
    """Grid lines and tick labels at 0, 1/4 ... top of a vertical value axis."""
    out = ['<g class="axis-y">']
    for k in range(5):
        value = top * k / 4
        y = y_base - PLOT_HEIGHT * k / 4
        out.append(
            f'<line x1="{_num(x0)}" y1="{_num(y)}" x2="{_num(x1)}" y2="{_num(y)}"'
            f' stroke="{GRID if k else AXIS}"/>'
        )
        out.append(_text(x0 - 4, y + 4, fmt(round(value, 2)), "end", ' class="tick"'))
    out.append("</g>")
    return out


def _columns(
    title: str, categories: Sequence[str], series: Sequence[Series], stacked: bool, kind: str
) -> str:
    _check(categories, series)
    n = max(1, len(categories))
    x0, x1 = 56.0, float(WIDTH - 16)
    y_base = MARGIN_TOP + 16 + PLOT_HEIGHT
    height = int(y_base + MARGIN_BOTTOM + (20 if len(series) > 1 else 0))
    if stacked:
        top = _scale_max(
            [sum(col) for col in zip(*(s.values for s in series), strict=True)] if series else []
        )
    else:
        top = _scale_max([v for s in series for v in s.values])
    out = _open(WIDTH, height, title, _describe(categories, series), kind)
    out.extend(_value_axis(top, x0, x1, y_base))
    slot = (x1 - x0) / n
    groups = 1 if stacked else max(1, len(series))
    bar_w = slot * 0.7 / groups
    for i, cat in enumerate(categories):
        left = x0 + i * slot + slot * 0.15
        base: float = y_base
        out.append(f'<g class="category" data-category={quoteattr(cat)}>')
        for j, s in enumerate(series):
            val = s.values[i]
            h = PLOT_HEIGHT * val / top
            x = left if stacked else left + j * bar_w
            y = base - h
            tip = f"{cat}, {s.name}: {fmt(val)}" if len(series) > 1 else f"{cat}: {fmt(val)}"
            out.append(_bar(x, y, bar_w, h, PALETTE[j % len(PALETTE)], tip, val))
            if not stacked:
                out.append(_text(x + bar_w / 2, y - 4, fmt(val), "middle", ' class="value"'))
            if stacked:
                base = y
        if stacked:
            total = sum(s.values[i] for s in series)
            out.append(_text(left + bar_w / 2, base - 4, fmt(total), "middle", ' class="value"'))
        out.append(_text(left + bar_w * groups / 2, y_base + 16, cat, "middle", ' class="label"'))
        out.append("</g>")
    out.extend(_legend(series, height - 10))
    out.append("</svg>")
    return "".join(out)


def vertical_bar_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped columns: one group per category, one column per series."""
    return _columns(title, categories, series, stacked=False, kind="vbar")


def stacked_bar_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """One column per category, the series stacked bottom-up in order, total on top."""
    return _columns(title, categories, series, stacked=True, kind="stacked")


def line_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """A trend: one polyline per series over the categories (e.g. days), points with values."""
    _check(categories, series)
    x0, x1 = 56.0, float(WIDTH - 16)
    y_base = MARGIN_TOP + 16 + PLOT_HEIGHT
    height = int(y_base + MARGIN_BOTTOM + (20 if len(series) > 1 else 0))
    top = _scale_max([v for s in series for v in s.values])
    out = _open(WIDTH, height, title, _describe(categories, series), "line")
    out.extend(_value_axis(top, x0, x1, y_base))
    n = len(categories)
    step = (x1 - x0 - 24) / max(1, n - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return x0 + 12 + i * step, y_base - PLOT_HEIGHT * v / top

    for i, cat in enumerate(categories):
        out.append(_text(xy(i, 0)[0], y_base + 16, cat, "middle", ' class="label"'))
    for j, s in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        points = " ".join(
            f"{_num(x)},{_num(y)}" for x, y in (xy(i, v) for i, v in enumerate(s.values))
        )
        out.append(f'<g class="series" data-series={quoteattr(s.name)}>')
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, (cat, v) in enumerate(zip(categories, s.values, strict=True)):
            x, y = xy(i, v)
            tip = f"{cat}, {s.name}: {fmt(v)}" if len(series) > 1 else f"{cat}: {fmt(v)}"
            out.append(
                f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{colour}"'
                f' data-value="{fmt(v)}"><title>{escape(tip)}</title></circle>'
            )
        out.append("</g>")
    out.extend(_legend(series, height - 10))
    out.append("</svg>")
    return "".join(out)


def contrast_ratio(foreground: str, background: str = BACKGROUND) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
