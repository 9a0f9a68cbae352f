"""core/charts.py: SVG structure, values, escaping, accessibility and determinism."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from core import charts
from core.charts import Series

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}rect") if e.get("class") == "bar"]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in root.iter(f"{NS}text") if e.get("class") == cls]


def test_horizontal_bars_have_lengths_proportional_to_values() -> None:
    root = parse(charts.horizontal_bar_chart("Breaches", ["A", "B", "C"], [4, 2, 1]))
    widths = [float(b.get("width", "0")) for b in bars(root)]
    assert len(widths) == 3
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.2)
    assert widths[1] == pytest.approx(2 * widths[2], abs=0.2)
    assert [b.get("data-value") for b in bars(root)] == ["4", "2", "1"]
    assert texts(root, "label") == ["A", "B", "C"]
    assert texts(root, "value") == ["4", "2", "1"]


def test_chart_is_accessible() -> None:
    root = parse(charts.horizontal_bar_chart("超时 by customer", ["甲", "乙"], [3, 1]))
    assert root.get("role") == "img"
    assert root.get("aria-label") == "超时 by customer"
    assert root.find(f"{NS}title") is not None
    assert root.findtext(f"{NS}title") == "超时 by customer"
    desc = root.findtext(f"{NS}desc") or ""
    assert "甲: 3" in desc and "乙: 1" in desc
    tips = [b.findtext(f"{NS}title") for b in bars(root)]
    assert tips == ["甲: 3", "乙: 1"]


def test_labels_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & 华为'
    svg = charts.vertical_bar_chart(hostile, [hostile], [Series(hostile, (1,))])
    assert "<script>" not in svg
    root = parse(svg)
    assert root.get("aria-label") == hostile
    assert texts(root, "label") == [hostile]


def test_vertical_grouped_bars_one_per_series_and_category() -> None:
    series = [Series("met", (3, 0)), Series("breached", (1, 2))]
    root = parse(charts.vertical_bar_chart("Compliance", ["response", "restore"], series))
    values = [b.get("data-value") for b in bars(root)]
    assert values == ["3", "1", "0", "2"]
    heights = [float(b.get("height", "0")) for b in bars(root)]
    assert heights[0] == pytest.approx(3 * heights[1], abs=0.2)
    assert heights[2] == 0
    legend = root.find(f"{NS}g[@class='legend']")
    assert legend is not None
    assert [t.text for t in legend.iter(f"{NS}text")] == ["met", "breached"]


def test_stacked_bars_stack_and_show_totals() -> None:
    series = [Series("P1", (2, 1)), Series("P2", (3, 0))]
    root = parse(charts.stacked_bar_chart("Open", ["new", "assigned"], series))
    rects = bars(root)
    first_p1, first_p2 = rects[0], rects[1]
    # P2 sits directly on top of P1 in the same column
    assert first_p1.get("x") == first_p2.get("x")
    top_of_p1 = float(first_p1.get("y", "0"))
    bottom_of_p2 = float(first_p2.get("y", "0")) + float(first_p2.get("height", "0"))
    assert bottom_of_p2 == pytest.approx(top_of_p1, abs=0.2)
    assert texts(root, "value") == ["5", "1"]


def test_line_chart_points_follow_values() -> None:
    root = parse(charts.line_chart("Trend", ["Mon", "Tue", "Wed"], [Series("open", (1, 4, 2))]))
    points = [e for e in root.iter(f"{NS}circle") if e.get("class") == "point"]
    assert [p.get("data-value") for p in points] == ["1", "4", "2"]
    ys = [float(p.get("cy", "0")) for p in points]
    assert ys[1] < ys[2] < ys[0]  # higher value, higher on the page
    xs = [float(p.get("cx", "0")) for p in points]
    assert xs == sorted(xs)
    poly = root.find(f".//{NS}polyline")
    assert poly is not None and len((poly.get("points") or "").split()) == 3


def test_output_is_deterministic() -> None:
    series = [Series("a", (1.5, 2.25)), Series("b", (0, 7))]
    assert charts.stacked_bar_chart("t", ["x", "y"], series) == charts.stacked_bar_chart(
        "t", ["x", "y"], series
    )
    assert charts.fmt(2.25) == "2.25" and charts.fmt(3.0) == "3" and charts.fmt(0.5) == "0.5"


def test_all_zero_and_empty_charts_render() -> None:
    parse(charts.horizontal_bar_chart("none", [], []))
    root = parse(charts.vertical_bar_chart("zeros", ["a"], [Series("s", (0,))]))
    assert [b.get("height") for b in bars(root)] == ["0"]


def test_mismatched_or_negative_values_are_refused() -> None:
    with pytest.raises(ValueError, match="2 values for 1"):
        charts.vertical_bar_chart("t", ["a"], [Series("s", (1, 2))])
    with pytest.raises(ValueError, match="negative"):
        charts.horizontal_bar_chart("t", ["a"], [-1])


def test_palette_and_text_meet_contrast_aa() -> None:
    for colour in (*charts.PALETTE, charts.TEXT, charts.AXIS):
        assert charts.contrast_ratio(colour) >= 4.5, colour
    assert charts.contrast_ratio("#ffffff") == pytest.approx(1.0)
    assert charts.contrast_ratio("#000000") == pytest.approx(21.0)
