"""Cases, clocks, events and RMA orders with hand-known report figures (tests/test_reports*.py).

Q3 2026 in Asia/Shanghai is [2026-06-30T16:00Z, 2026-09-30T16:00Z). The hospital contract has
five cases in it (c1, c2, c3, c4, c6); c5 opened at 00:30 local on 1 October (Q4) and c7
belongs to another contract. What the report must say about them is in EXPECTED.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from core.store import case_facts
from core.store.orm import Case, CaseEvent, RmaOrder, SlaClock

HOSPITAL, PORT = "wdkn-hospital-2026", "shidao-port-2026"
NOW = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Builder:
    """Rows for the four tables, ids and sequence numbers handed out in order."""

    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []
        self.clocks: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.rmas: list[dict[str, Any]] = []
        self.seq: dict[int, int] = {}

    def case(
        self,
        opened: datetime,
        *,
        contract: str = HOSPITAL,
        priority: str = "P3",
        category: str = "fault_rescue",
        channel: str = "phone",
        zone: str | None = "市内",
        request_type: str = "problem_report",
        resolved: datetime | None = None,
        closed: datetime | None = None,
        breached: bool = False,
        emergency: bool = False,
    ) -> int:
        cid = len(self.cases) + 1
        status = "closed" if closed else "resolved" if resolved else "in_progress"
        self.cases.append(
            {
                "id": cid,
                "number": f"T-2026-{cid:04d}",
                "contract_id": contract,
                "customer_id": contract.rsplit("-", 1)[0],
                "caller_name": "测试 caller",
                "summary": f"case {cid}",
                "category": category,
                "request_type": request_type,
                "priority": priority,
                "emergency": emergency,
                "channel": channel,
                "zone": zone,
                "status": status,
                "opened_at": opened,
                "updated_at": closed or resolved or opened,
                "resolved_at": resolved,
                "closed_at": closed,
                "breached": breached,
                "last_seq": 0,
                "last_hash": "",
                "version": 1,
            }
        )
        self.event(cid, "opened", opened)
        return cid

    def event(
        self,
        cid: int,
        kind: str,
        when: datetime,
        payload: dict[str, Any] | None = None,
        visibility: str = "internal",
    ) -> None:
        seq = self.seq.get(cid, 0) + 1
        self.seq[cid] = seq
        self.cases[cid - 1]["last_seq"] = seq
        self.events.append(
            {
                "id": len(self.events) + 1,
                "case_id": cid,
                "seq": seq,
                "kind": kind,
                "actor": "fixture",
                "at": when,
                "payload": payload or {},
                "visibility": visibility,
                "prev_hash": "",
                "hash": f"{cid}-{seq}",
            }
        )

    def clock(self, cid: int, kind: str, deadline: datetime, **fields: Any) -> None:
        row: dict[str, Any] = {
            "id": len(self.clocks) + 1,
            "case_id": cid,
            "kind": kind,
            "state": "running",
            "calendar": "duty",
            "target": "1h",
            "rule": "fixture",
            "started_at": self.cases[cid - 1]["opened_at"],
            "deadline": deadline,
            "pauses": [],
            "alert_level": 0,
            "paused_at": None,
            "pause_cause": None,
            "met_at": None,
            "breached_at": None,
            "exclusion_cause": None,
        }
        row.update(fields)
        self.clocks.append(row)

    def rma(self, cid: int, channel: str, state: str, created: datetime, updated: datetime) -> int:
        rid = len(self.rmas) + 1
        self.rmas.append(
            {
                "id": rid,
                "case_id": cid,
                "case_number": self.cases[cid - 1]["number"],
                "channel": channel,
                "serial": f"SN{rid}",
                "idempotency_key": f"key-{rid}",
                "state": state,
                "request": {},
                "failures": 0,
                "created_at": created,
                "updated_at": updated,
            }
        )
        return rid

    def load(self, conn: Connection) -> None:
        for model, rows in (
            (Case, self.cases),
            (SlaClock, self.clocks),
            (CaseEvent, self.events),
            (RmaOrder, self.rmas),
        ):
            if rows:
                conn.execute(insert(model), rows)
        # rows inserted in bulk bypass the sessions' upkeep: their facts are built as the
        # migration backfills them
        case_facts.rebuild(conn)
        if conn.dialect.name == "postgresql":
            for table in ("cases", "sla_clocks", "case_events", "rma_orders"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce(max(id), 0) + 1, false) FROM {table}"
                )


def known() -> Builder:
    """The hand-made cases whose figures EXPECTED states."""
    b = Builder()
    s = timedelta(seconds=1)
    # c1: P1, first response after 600 s, one visit, resolved after 3 h, closed next day
    t1 = at("2026-07-01T02:00:00")
    c1 = b.case(t1, priority="P1", resolved=t1 + 10800 * s, closed=t1 + timedelta(days=1))
    b.event(c1, "note", t1 + 60 * s)  # internal note: not in the timeline
    b.event(c1, "first_response", t1 + 600 * s, visibility="customer")
    b.event(c1, "onsite_arrived", t1 + 3600 * s)
    b.event(c1, "resolved", t1 + 10800 * s, visibility="customer")
    b.event(c1, "closed", t1 + timedelta(days=1), visibility="customer")
    b.clock(c1, "response", t1 + 1800 * s, state="met", met_at=t1 + 600 * s)
    b.clock(c1, "resolution", t1 + 14400 * s, state="met", met_at=t1 + 10800 * s)
    # c2: P2 by e-mail, response late (breached), re-opened, resolution late but excluded
    t2 = at("2026-07-10T01:00:00")
    c2 = b.case(
        t2, priority="P2", channel="email", zone="文登", resolved=t2 + 7200 * s, breached=True
    )
    b.event(c2, "first_response", t2 + 1200 * s)
    b.event(c2, "resolved", t2 + 3000 * s)
    b.event(c2, "reopened", t2 + 4000 * s)
    b.event(c2, "resolved", t2 + 7200 * s)
    b.clock(
        c2,
        "response",
        t2 + 900 * s,
        state="breached",
        met_at=t2 + 1200 * s,
        breached_at=t2 + 900 * s,
    )
    b.clock(
        c2,
        "resolution",
        t2 + 3600 * s,
        state="breached",
        met_at=t2 + 7200 * s,
        breached_at=t2 + 3600 * s,
        exclusion_cause="late-fault-information",
    )
    # c3: P3 consultation, no response yet (running past its deadline), resolution paused
    # now after one earlier pause
    t3 = at("2026-08-01T03:00:00")
    c3 = b.case(t3, request_type="consultation", category="consulting", zone=None)
    b.clock(c3, "response", t3 + 3600 * s)
    b.clock(
        c3,
        "resolution",
        t3 + timedelta(days=90),
        state="paused",
        paused_at=t3 + timedelta(days=2),
        pause_cause="waiting for the customer",
        pauses=[{"start": "2026-08-01T05:00:00Z", "end": "2026-08-01T06:00:00Z", "cause": "x"}],
    )
    # c4: P3, 23:00 local on 30 September (still Q3), two visits, resolved after an hour
    t4 = at("2026-09-30T15:00:00")
    c4 = b.case(t4, resolved=t4 + 3600 * s, emergency=True)
    b.event(c4, "onsite_arrived", t4 + 1000 * s)
    b.event(c4, "onsite_arrived", t4 + 2000 * s)
    b.event(c4, "resolved", t4 + 3600 * s)
    b.clock(c4, "onsite_arrival", t4 + 3600 * s, state="met", met_at=t4 + 1000 * s)
    # c5: 00:30 local on 1 October: Q4, not in the Q3 report
    t5 = at("2026-09-30T16:30:00")
    c5 = b.case(t5, priority="P1", resolved=t5 + 60 * s)
    b.event(c5, "first_response", t5 + 30 * s)
    # c6: 01:00 local on 1 July (in Q3) by WeChat, response after 300 s, resolved at 5000 s
    t6 = at("2026-06-30T17:00:00")
    c6 = b.case(t6, priority="P2", channel="wechat", resolved=t6 + 5000 * s)
    b.event(c6, "first_response", t6 + 300 * s)
    b.event(c6, "resolved", t6 + 5000 * s)
    b.clock(c6, "response", t6 + 1800 * s, state="met", met_at=t6 + 300 * s)
    # c7: the port's case in Q3: never in the hospital's report
    t7 = at("2026-07-02T00:00:00")
    c7 = b.case(t7, contract=PORT, priority="P1", resolved=t7 + 99 * s)
    b.event(c7, "first_response", t7 + 9 * s)
    # RMA: delivered 2 days after opening (event), one still open, one closed with no event
    r1 = b.rma(c1, "digital_china", "delivered", t1 + 3 * 3600 * s, t1 + timedelta(days=3))
    b.event(
        c1,
        "rma_updated",
        t1 + 3 * 3600 * s + timedelta(days=2),
        {"rma": r1, "state": "delivered", "channel": "digital_china"},
        "customer",
    )
    b.rma(c2, "cisco", "open", t2 + 600 * s, t2 + 600 * s)
    b.rma(c4, "cisco", "closed", t4 + 100 * s, t4 + 100 * s + 86400 * s)
    b.rma(c7, "cisco", "closed", t7, t7 + 10 * s)
    return b


def scrambled(seed: int, n: int = 120) -> Builder:
    """``n`` random cases over two contracts and two quarters, for the cross-back-end test."""
    rng = random.Random(seed)
    b = Builder()
    base = at("2026-06-20T00:00:00")
    kinds = ("first_response", "reopened", "onsite_arrived", "note", "escalated")
    for _ in range(n):
        opened = base + timedelta(seconds=rng.randrange(0, 120 * 86400))
        resolved = (
            opened + timedelta(seconds=rng.randrange(60, 9 * 86400)) if rng.random() < 0.7 else None
        )
        cid = b.case(
            opened,
            contract=rng.choice((HOSPITAL, PORT)),
            priority=rng.choice(("P1", "P2", "P3", "P4")),
            category=rng.choice(("fault_rescue", "consulting", "installation")),
            channel=rng.choice(("phone", "email", "web", "wechat")),
            zone=rng.choice(("市内", "文登", "荣成", None)),
            request_type=rng.choice(("problem_report", "consultation")),
            resolved=resolved,
            closed=resolved + timedelta(days=1) if resolved and rng.random() < 0.5 else None,
            breached=rng.random() < 0.2,
            emergency=rng.random() < 0.1,
        )
        for _ in range(rng.randrange(0, 5)):
            b.event(cid, rng.choice(kinds), opened + timedelta(seconds=rng.randrange(1, 86400)))
        for kind in ("response", "resolution"):
            deadline = opened + timedelta(seconds=rng.randrange(600, 86400))
            state = rng.choice(("running", "met", "breached", "paused", "cancelled"))
            b.clock(
                cid,
                kind,
                deadline,
                state=state,
                met_at=deadline - timedelta(seconds=60) if state == "met" else None,
                breached_at=deadline if state == "breached" else None,
                paused_at=deadline - timedelta(seconds=30) if state == "paused" else None,
                pauses=[{"start": "a", "end": "b"}] * rng.randrange(0, 3),
                exclusion_cause="force-majeure" if rng.random() < 0.1 else None,
            )
        if rng.random() < 0.3:
            state = rng.choice(("open", "delivered", "closed", "cancelled", "rejected"))
            created = opened + timedelta(hours=1)
            rid = b.rma(
                cid,
                rng.choice(("cisco", "digital_china")),
                state,
                created,
                created + timedelta(seconds=rng.randrange(3600, 9 * 86400)),
            )
            if state == "delivered" and rng.random() < 0.5:
                b.event(
                    cid,
                    "rma_updated",
                    created + timedelta(days=1),
                    {"rma": rid, "state": "delivered"},
                )
    return b
