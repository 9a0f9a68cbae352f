"""Console pages rendered server-side over a large case table (issue 14, section 8).

    python bench/pages.py --quick     # 50k cases, 47.5k knowledge entries
    python bench/pages.py             # 1M cases, 950k knowledge entries

Loads the cases of bench/queues.py (COPY) into PostgreSQL, opens one more case through the
desk on a device of the hospital contract (a device model and a category, so the case page's
past fixes run) and gives it 200 events (notes), then times whole HTTP requests through
litestar's TestClient, signed in as a service manager: the case page with 200 events while
the knowledge base is empty; then ``--kb`` knowledge entries are loaded (bench/kb.py's rows,
one per closed case by default; the stories of the case's model renamed to its device's
model, so about 1/29 of them are of its model and category) and the case page is timed
again, with its two newer parts alone (the past fixes ``Desk.related_fixes``, the
implementation-document check ``has_change_plan``), the queue page (50 rows of
``unassigned``), its htmx partial, "mine", the live fragment. The baseline, timed again in
each phase, is the JSON API's GET /api/v1/cases/{number} of the same case. Prints p50/p95 in
ms.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))  # bench/kb.py imports _common so

from litestar.testing import TestClient
from sqlalchemy import text

from bench._common import fresh_database, percentile, table
from bench.kb import load_postgres as load_knowledge
from bench.queues import NOW, load
from core.commands import Caller, Note, OpenCase
from core.runtime import build_runtime
from core.settings import Settings
from core.store.db import make_engine
from core.store.document_sql import has_change_plan
from core.store.migrate import upgrade
from core.store.tokens import create_token
from core.store.users import create_user
from server import create_app

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 200
SERIAL = "CZJ9350FKQ"  # the hospital's HIS database server
DEVICE_MODEL = "HPE ProLiant DL380 Gen10 (HIS database)"  # its model in the contract
STORY_MODEL = "HPE ProLiant DL380 Gen10"  # the labelled stories' spelling (bench/kb.py)


def _sequences(url: str) -> None:
    """COPY set the ids: move the sequences past them so the desk can insert."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for name in ("cases", "sla_clocks"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                              f"(SELECT max(id) FROM {name}))"))  # fmt: skip
    engine.dispose()


def _case_with_events(runtime: Any) -> str:
    cmd = OpenCase(contract_id="wdkn-hospital-2026", caller=Caller(name="bench"),
                   summary="HIS 数据库连接数占满，门诊挂号缓慢", category="system_debugging",
                   request_type="problem_report", priority="P2", channel="phone",
                   device_serial=SERIAL)  # type: ignore[arg-type]  # fmt: skip
    number = runtime.desk.open_case(cmd, actor="bench", now=NOW).number
    for i in range(EVENTS - 2):
        runtime.desk.add_note(number, Note(text=f"note {i}"), actor="bench", now=NOW)
    return number


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _get(client: TestClient[Any], path: str, **headers: str) -> Callable[[], Any]:
    def call() -> None:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)

    return call


def _rows(cases: list[tuple[str, Callable[[], Any]]], runs: int) -> list[list[str]]:
    """p50/p95 of each; the ratio to the first (the phase's baseline)."""
    body, base = [], 0.0
    for name, fn in cases:
        ms = timed(fn, runs)
        p50, p95 = percentile(ms, 50), percentile(ms, 95)
        base = base or p50
        body.append([name, f"{p50:.1f}", f"{p95:.1f}", f"{p50 / base:.2f}"])
    return body


def _load_knowledge(url: str, rows: int) -> str:
    """``rows`` entries in (COPY, GIN index built after); how long it took."""
    engine = make_engine(url)
    times = load_knowledge(engine, rows, random.Random(16), {STORY_MODEL: DEVICE_MODEL})
    with engine.connect() as conn:
        mine = conn.execute(
            text("SELECT count(*) FROM kb_entries WHERE device_model = :m AND category = :c"),
            {"m": DEVICE_MODEL, "c": "system_debugging"},
        ).scalar_one()
    engine.dispose()
    return (f"{rows} knowledge entries ({mine} of the case's model and category): COPY "
            f"{times['copy']:.0f} s, GIN index {times['index']:.0f} s")  # fmt: skip


def measure(url: str, runs: int, kb_rows: int) -> list[list[str]]:
    settings = Settings(database_url=url, contracts_dir=str(ROOT / "contracts"),
                        var_dir=tempfile.mkdtemp())  # fmt: skip
    runtime = build_runtime(settings, clock=lambda: NOW)
    number = _case_with_events(runtime)
    with runtime.sessions.begin() as session:
        create_user(session, login="bench", display_name="刘洋", password="bench-password-1",
                    roles=["service_manager"], customer_id=None, now=NOW)  # fmt: skip
        token, _ = create_token(session, roles=["service_manager"], name="bench", now=NOW)
    app = create_app(settings, runtime=runtime)

    def change_plan() -> bool:
        with runtime.sessions() as session:
            return has_change_plan(session, number)

    with TestClient(app) as client:
        login = client.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert csrf is not None
        client.post("/login", data={"login": "bench", "password": "bench-password-1",
                                    "csrf_token": csrf.group(1)})  # fmt: skip
        api = _get(client, f"/api/v1/cases/{number}", Authorization=f"Bearer {token}")
        page = _get(client, f"/console/cases/{number}")
        baseline = ("API GET /api/v1/cases/{n} (baseline)", api)
        empty = _rows([baseline, ("case page, 200 events, knowledge base empty", page)], runs)
        print(_load_knowledge(url, kb_rows), file=sys.stderr)
        loaded = [
            baseline,
            (f"case page, 200 events, {kb_rows} kb entries", page),
            ("  its past fixes alone (Desk.related_fixes)",
             lambda: runtime.desk.related_fixes(number)),
            ("  its has_change_plan alone", change_plan),
            ("queue page unassigned, 50 rows", _get(client, "/console/queues/unassigned")),
            ("queue partial (htmx), sort -priority",
             _get(client, "/console/queues/unassigned?sort=-priority",
                  **{"HX-Request": "true", "HX-Target": "queue-results"})),
            ("queue page mine (assigned + opened)", _get(client, "/console/queues/mine")),
            ("live fragment", _get(client, "/console/live")),
        ]  # fmt: skip
        assert runtime.desk.related_fixes(number), "the case's past fixes are not empty"
        return [*empty, ["", "", "", ""], *_rows(loaded, runs)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50k cases")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--kb", type=int, help="knowledge entries (default: 95 %% of --cases)")
    args = parser.parse_args(argv)
    n = 50_000 if args.quick else args.cases
    kb_rows = args.kb if args.kb is not None else n * 95 // 100
    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp), "p") as url:
        engine = make_engine(url)
        upgrade(engine)
        load(engine, n)
        engine.dispose()
        _sequences(url)
        body = measure(url, args.runs, kb_rows)
    print(f"\nPostgreSQL, {n} cases, {args.runs} runs each, whole HTTP requests (TestClient)\n")
    print(table(["page", "p50 ms", "p95 ms", "p50 / baseline"], body, {1, 2, 3}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
