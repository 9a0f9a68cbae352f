"""The pages' stylesheet states each rule once: a selector written twice at the top level (the
second silently overriding part of the first) is a duplicate to merge (web/static/casetrack.css)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

CSS = Path(__file__).resolve().parent.parent / "web" / "static" / "casetrack.css"


def top_level_selectors(text: str) -> list[str]:
    """Every selector of the top-level rules (at-rules such as @media left out)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    selectors, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "{":
            if depth == 0:
                head = text[start:i].strip()
                if not head.startswith("@"):
                    selectors += [" ".join(s.split()) for s in head.split(",")]
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                start = i + 1
    return selectors


def test_no_selector_has_two_rules() -> None:
    selectors = top_level_selectors(CSS.read_text(encoding="utf-8"))
    assert "dl.facts" in selectors and "ol.timeline li" in selectors
    twice = sorted(s for s, n in Counter(selectors).items() if n > 1)
    assert twice == [], f"merge the rules of {twice}"


def test_the_parser_sees_a_duplicate() -> None:
    assert top_level_selectors("a, b { x: 1 } /* b {} */ @media (x) { b { y: 2 } } b { z: 3 }") == [
        "a", "b", "b"
    ]  # fmt: skip
