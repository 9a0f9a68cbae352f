"""Functional escalation (R-CASE): who works on a case, from our engineer up to the vendor.

The handbook's flow: the on-duty engineer; Digital China technical and lab support; then the
expert group **or** an on-site engineer (alternatives at one step); last, the original
vendor. A hand-over moves the case to a level (up, across or back down) and is recorded as a
``handed_over`` event whose payload names the new level, so the current level is the last
such event's ``target`` (``functional_level``). Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "BASE_LEVEL",
    "EVENT_KIND",
    "RANK",
    "TICKET_REQUIRED",
    "HandOverTarget",
    "direction",
    "functional_level",
]

EVENT_KIND = "handed_over"


class HandOverTarget(StrEnum):
    """The levels of the functional ladder; ``engineer`` is the case's own engineer (back)."""

    ENGINEER = "engineer"  # 值班工程师: where every case starts
    DIGITAL_CHINA = "digital-china"  # 神州数码 technical and lab support
    EXPERT_GROUP = "expert-group"  # 专家组
    ONSITE_ENGINEER = "onsite-engineer"  # 现场工程师 (the alternative to the expert group)
    VENDOR = "vendor"  # 原厂 (Cisco TAC, H3C, Huawei ...)


BASE_LEVEL = HandOverTarget.ENGINEER
RANK: Mapping[HandOverTarget, int] = {
    HandOverTarget.ENGINEER: 0,
    HandOverTarget.DIGITAL_CHINA: 1,
    HandOverTarget.EXPERT_GROUP: 2,
    HandOverTarget.ONSITE_ENGINEER: 2,
    HandOverTarget.VENDOR: 3,
}
# their own case systems: without their ticket number nobody can follow the case up there
TICKET_REQUIRED = frozenset({HandOverTarget.DIGITAL_CHINA, HandOverTarget.VENDOR})


def direction(previous: HandOverTarget, target: HandOverTarget) -> str:
    """``up``, ``down`` or ``across`` the ladder (expert group ↔ on-site engineer, or the same
    level again, e.g. a second vendor ticket)."""
    before, after = RANK[previous], RANK[target]
    if after > before:
        return "up"
    if after < before:
        return "down"
    return "across"


class EventLike(Protocol):
    kind: str
    payload: Any


def functional_level(events: Iterable[EventLike]) -> HandOverTarget:
    """The level the case is at: the last ``handed_over`` event's, else the engineer.

    ``events`` in recording order (the case detail's event list, or ORM rows)."""
    level = BASE_LEVEL
    for event in events:
        if event.kind == EVENT_KIND and isinstance(event.payload, Mapping):
            level = HandOverTarget(event.payload["target"])
    return level
