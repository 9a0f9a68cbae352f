"""Benchmark: the HTTP API under load, against a bare litestar INSERT endpoint (the ceiling).

Usage: python bench/api.py [--backend sqlite|postgresql|both] [--requests 2000]
                           [--serial-requests 300] [--concurrency 1,16,64]
                           [--endpoints "case open,..."] [--max-seconds 60] [--profile FILE]

For each back end:
1. A fresh database (SQLite: a file in a temporary directory; PostgreSQL: a
   `casetrack_bench_<random>` database this script creates and drops), migrated with
   core.store.migrate.upgrade, and an `agent` token created directly in it.
2. Two servers, each a uvicorn subprocess with one worker and no access log, on free loopback
   ports: the real app (`cli.serve:app_from_env` if that module exists, else
   bench/_api_server.py, which calls `create_app(Settings.from_env())`), and the ceiling
   (bench/_ceiling_app.py: `POST /insert` does one INSERT on the same database with an engine
   from core.store.db.make_engine). Both must answer /readyz before the load starts.
3. Load, concurrency by concurrency: the ceiling insert, case open (POST /api/v1/cases),
   case get (GET /api/v1/cases/{number} of a case opened beforehand) and list
   (GET /api/v1/cases?limit=20). Each cell sends a fixed number of requests (--requests, or
   --serial-requests at concurrency 1) and stops early after --max-seconds. The client is
   raw asyncio streams speaking HTTP/1.1 with keep-alive, one connection per concurrent
   worker, each request sent only when the previous answer on its connection has arrived.
   Every answer must be 2xx; anything else (or a broken connection) counts as an error.
4. A table per back end (req/s, p50, p99, errors, and the CPU used meanwhile by the server
   process and by this client, in cores, with the share of the machine left idle), the ratio
   case open / ceiling at each concurrency, and the goals with PASS/MISS: case open >= 50 %
   of the ceiling, and p99 < 100 ms at concurrency 64 on PostgreSQL (judged for open, get
   and list). The exit status is 1 when a goal is missed.

The client and both servers share this machine's cores, so each side gets part of the CPU.
--profile FILE runs the real app under cProfile (all threads) and prints its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import fresh_database, percentile, table  # noqa: E402  (bench/ is on sys.path)

from core.case import Category, Channel, RequestType  # noqa: E402
from core.commands import Caller, OpenCase  # noqa: E402
from core.store.db import make_engine, make_sessionmaker  # noqa: E402
from core.store.migrate import upgrade  # noqa: E402
from core.store.tokens import create_token  # noqa: E402

HOST = "127.0.0.1"
HOSPITAL = "wdkn-hospital-2026"
OPEN_GOAL = 0.50  # case open req/s >= 50 % of the ceiling's
P99_GOAL_MS = 100.0  # at the highest concurrency, on PostgreSQL
P99_GOAL_CONCURRENCY = 64
WARMUP = 50  # requests per endpoint before the first measured cell
READY_TIMEOUT_S = 60.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
ENDPOINTS = ("ceiling insert", "case open", "case get", "case list")


def open_payload() -> bytes:
    """A consulting call by phone, P3, as tests/test_desk.py opens them (no appointment)."""
    cmd = OpenCase(
        contract_id=HOSPITAL,
        caller=Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        summary="PACS viewer slow to open studies",
        category=Category.CONSULTING,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P3",
        channel=Channel.PHONE,
    )
    return msgspec.json.encode(cmd)


# --- statistics and tables ---------------------------------------------------------------------


# --- fresh databases ---------------------------------------------------------------------------


def prepare(url: str) -> str:
    """Migrate the database and create an agent token in it; returns the token."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with make_sessionmaker(engine).begin() as session:
            token, _ = create_token(
                session, roles=["agent"], name="bench/api.py", now=datetime.now(UTC)
            )
    finally:
        engine.dispose()
    return token


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: IO[bytes]
    log_path: Path

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]


def app_target(profile: bool) -> tuple[str, list[str]]:
    """The real app's uvicorn target: cli.serve when it exists (unless profiling)."""
    if not profile and importlib.util.find_spec("cli.serve") is not None:
        spec = importlib.util.find_spec("cli.serve")
        source = Path(spec.origin).read_text() if spec and spec.origin else ""
        if "def app_from_env" in source:
            return "cli.serve:app_from_env", []
    return "_api_server:app_from_env", ["--app-dir", str(ROOT / "bench")]


def start_server(
    name: str, target: str, extra: list[str], env: dict[str, str], tmp: Path
) -> Server:
    port = free_port()
    log_path = tmp / f"{name}.log"
    log = log_path.open("wb")
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        *extra,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Server(name, process, port, log, log_path)


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = f"http://{HOST}:{server.port}/readyz"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{server.output()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)  # uvicorn shuts down cleanly (profile dump)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    server.log.close()


# --- the load client -----------------------------------------------------------------------------


def raw_request(
    method: str, path: str, port: int, token: str | None = None, body: bytes | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: application/json"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")


class Connection:
    """One keep-alive HTTP/1.1 connection: one request at a time, answers read in full."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        chunked = close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = await self._chunked()
        else:
            body = await self.reader.readexactly(length or 0)
        if close:
            await self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


@dataclass
class Cell:
    backend: str
    endpoint: str
    concurrency: int
    planned: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # broken connections, timeouts
    samples: list[str] = field(default_factory=list)  # the first few non-2xx answers
    server_cpu: float = 0.0  # CPU seconds of the server process / wall seconds (1.0 = a core)
    client_cpu: float = 0.0  # the same for this client process
    idle: float = 0.0  # the share of all the machine's cores left idle during the cell

    @property
    def done(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        return self.failures + sum(n for s, n in self.statuses.items() if not 200 <= s < 300)

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def machine_ticks() -> tuple[int, int]:
    """(idle, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values[:8])


async def run_cell(cell: Cell, port: int, raw: bytes, max_seconds: float, pid: int) -> Cell:
    """cell.planned requests over cell.concurrency keep-alive connections, time-bounded."""
    connections = [Connection(port) for _ in range(cell.concurrency)]
    for connection in connections:  # connect first: the timing is of requests only
        connection.reader, connection.writer = await asyncio.open_connection(HOST, port)
    issued = 0
    server0, client0, (idle0, total0) = process_cpu(pid), time.process_time(), machine_ticks()
    start = time.perf_counter()
    deadline = start + max_seconds

    async def worker(connection: Connection) -> None:
        nonlocal issued
        while issued < cell.planned and time.perf_counter() < deadline:
            issued += 1
            t0 = time.perf_counter_ns()
            try:
                status, body = await asyncio.wait_for(connection.request(raw), timeout=60)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                cell.failures += 1
                await connection.close()
                continue
            cell.latencies_ms.append((time.perf_counter_ns() - t0) / 1e6)
            cell.statuses[status] += 1
            if not 200 <= status < 300 and len(cell.samples) < 3:
                cell.samples.append(f"{status} {body[:300].decode(errors='replace')}")

    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        cell.seconds = time.perf_counter() - start
        idle1, total1 = machine_ticks()
        cell.server_cpu = (process_cpu(pid) - server0) / cell.seconds
        cell.client_cpu = (time.process_time() - client0) / cell.seconds
        cell.idle = (idle1 - idle0) / max(1, total1 - total0)
        for connection in connections:
            await connection.close()
    return cell


async def one(port: int, raw: bytes) -> tuple[int, bytes]:
    connection = Connection(port)
    try:
        return await connection.request(raw)
    finally:
        await connection.close()


# --- one back end ----------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace, tmp: Path) -> list[Cell]:
    cells: list[Cell] = []
    with fresh_database(backend, tmp, "api") as url:
        token = prepare(url)
        env = {
            **os.environ,
            "CASETRACK_DATABASE_URL": url,
            "CASETRACK_CONTRACTS_DIR": str(ROOT / "contracts"),
            "CASETRACK_VAR_DIR": str(tmp / f"var-{backend}"),
            "PYTHONUNBUFFERED": "1",
        }
        profile_path = Path(args.profile).resolve() if args.profile else None
        app_env = dict(env)
        if profile_path is not None:
            app_env["CASETRACK_BENCH_PROFILE"] = str(profile_path.with_suffix(f".{backend}.prof"))
        target, extra = app_target(profile_path is not None)
        servers: list[Server] = []
        try:
            servers.append(start_server(f"app-{backend}", target, extra, app_env, tmp))
            servers.append(
                start_server(
                    f"ceiling-{backend}",
                    "_ceiling_app:app_from_env",
                    ["--app-dir", str(ROOT / "bench")],
                    env,
                    tmp,
                )
            )
            for server in servers:
                wait_ready(server)
            app, ceiling = servers
            cells = asyncio.run(load(backend, args, app, ceiling, token))
        finally:
            for server in servers:
                stop_server(server)
        if profile_path is not None:
            show_profile(app_env["CASETRACK_BENCH_PROFILE"])
    return cells


async def load(
    backend: str, args: argparse.Namespace, app: Server, ceiling: Server, token: str
) -> list[Cell]:
    payload = open_payload()
    a, c = app.port, ceiling.port
    status, body = await one(a, raw_request("POST", "/api/v1/cases", a, token, payload))
    if status != 201:
        raise RuntimeError(f"POST /api/v1/cases answered {status}: {body[:500]!r}")
    number = json.loads(body)["number"]
    requests = {
        "ceiling insert": (ceiling, raw_request("POST", "/insert", c, None, payload)),
        "case open": (app, raw_request("POST", "/api/v1/cases", a, token, payload)),
        "case get": (app, raw_request("GET", f"/api/v1/cases/{number}", a, token)),
        "case list": (app, raw_request("GET", "/api/v1/cases?limit=20", a, token)),
    }
    for endpoint in args.endpoints:  # warm-up: imports, caches, pools
        server, raw = requests[endpoint]
        cell = Cell(backend, endpoint, 4, WARMUP)
        await run_cell(cell, server.port, raw, args.max_seconds, server.process.pid)
    cells = []
    for concurrency in args.concurrency:
        planned = args.serial_requests if concurrency == 1 else args.requests
        for endpoint in args.endpoints:
            server, raw = requests[endpoint]
            cell = Cell(backend, endpoint, concurrency, planned)
            await run_cell(cell, server.port, raw, args.max_seconds, server.process.pid)
            cells.append(cell)
            capped = " (time cap)" if cell.done < planned else ""
            print(
                f"  {backend:<10} {endpoint:<14} c={concurrency:<3} {cell.done:>5} req "
                f"{cell.per_second:>8.1f} req/s  p50 {cell.p(50):>7.1f} ms  "
                f"p99 {cell.p(99):>7.1f} ms  errors {cell.errors}  "
                f"CPU server {cell.server_cpu:.0%} client {cell.client_cpu:.0%} "
                f"idle {cell.idle:.0%}{capped}",
                flush=True,
            )
            for sample in cell.samples:
                print(f"      non-2xx: {sample}")
    return cells


# --- report ------------------------------------------------------------------------------------


def report(backend: str, cells: list[Cell], concurrencies: list[int]) -> tuple[str, list[bool]]:
    by = {(c.endpoint, c.concurrency): c for c in cells}
    rows = []
    for endpoint in ENDPOINTS:
        for concurrency in concurrencies:
            cell = by.get((endpoint, concurrency))
            if cell is None:
                continue
            rows.append(
                [
                    endpoint,
                    str(concurrency),
                    f"{cell.done:,}",
                    f"{cell.per_second:,.0f}",
                    f"{cell.p(50):.1f}",
                    f"{cell.p(99):.1f}",
                    str(cell.errors),
                    f"{cell.server_cpu:.0%}",
                    f"{cell.client_cpu:.0%}",
                    f"{cell.idle:.0%}",
                ]
            )
    out = [
        f"### {backend}",
        "",
        table(
            [
                "endpoint",
                "concurrency",
                "requests",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "server CPU",
                "client CPU",
                "idle",
            ],
            rows,
            right={1, 2, 3, 4, 5, 6, 7, 8, 9},
        ),
        "",
    ]
    verdicts = []
    ratio_rows = []
    for concurrency in concurrencies:
        opened = by.get(("case open", concurrency))
        ceiling = by.get(("ceiling insert", concurrency))
        if opened is None or ceiling is None:
            continue
        ratio = opened.per_second / ceiling.per_second if ceiling.per_second else 0.0
        ok = ratio >= OPEN_GOAL and opened.errors == 0
        verdicts.append(ok)
        ratio_rows.append(
            [
                str(concurrency),
                f"{opened.per_second:,.0f}",
                f"{ceiling.per_second:,.0f}",
                f"{ratio:.0%}",
                "PASS" if ok else "MISS",
            ]
        )
    if ratio_rows:
        out += [
            table(
                ["concurrency", "case open req/s", "ceiling req/s", "open/ceiling", "goal >= 50 %"],
                ratio_rows,
                right={0, 1, 2, 3},
            ),
            "",
        ]
    if backend == "postgresql" and P99_GOAL_CONCURRENCY in concurrencies:
        for endpoint in ENDPOINTS[1:]:
            cell = by.get((endpoint, P99_GOAL_CONCURRENCY))
            if cell is None:
                continue
            ok = cell.p(99) < P99_GOAL_MS and cell.errors == 0
            verdicts.append(ok)
            out.append(
                f"- {endpoint}: p99 at concurrency {P99_GOAL_CONCURRENCY} = {cell.p(99):.1f} ms "
                f"(goal < {P99_GOAL_MS:.0f} ms): {'PASS' if ok else 'MISS'}"
            )
        out.append("")
    errors = sum(c.errors for c in cells)
    out.append(f"errors (non-2xx or broken connections) on {backend}: {errors}")
    return "\n".join(out), verdicts


def show_profile(path: str, top: int = 30) -> None:
    if not Path(path).exists():
        print(f"no profile written to {path}")
        return
    print(f"\nprofile of the app server: {path} (top {top} by cumulative, then by own time)")
    stats = pstats.Stats(path)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"litestar {version('litestar')}, uvicorn {version('uvicorn')}, "
        f"SQLAlchemy {version('sqlalchemy')}, psycopg {version('psycopg')}; "
        "client and servers on the same machine"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=2000, help="per cell, concurrency > 1")
    parser.add_argument("--serial-requests", type=int, default=300, help="per cell, concurrency 1")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
        default=[1, 16, 64],
    )
    parser.add_argument(
        "--endpoints",
        type=lambda s: [e.strip() for e in s.split(",") if e.strip()],
        default=list(ENDPOINTS),
        help=f"comma-separated subset of: {', '.join(ENDPOINTS)}",
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap per cell")
    parser.add_argument(
        "--profile", help="profile the app server (cProfile) into FILE.<backend>.prof"
    )
    args = parser.parse_args(argv)
    unknown = set(args.endpoints) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoint(s): {', '.join(sorted(unknown))}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    print(f"bench/api.py on {machine()}")
    print(
        f"goals: case open >= {OPEN_GOAL:.0%} of the ceiling's req/s; p99 < {P99_GOAL_MS:.0f} ms "
        f"at concurrency {P99_GOAL_CONCURRENCY} on PostgreSQL"
    )
    print(
        f"requests per cell: {args.serial_requests} at concurrency 1, {args.requests} above; "
        f"at most {args.max_seconds:.0f} s per cell\n",
        flush=True,
    )
    verdicts: list[bool] = []
    reports = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="casetrack-bench-api-") as tmp:
        for backend in backends:
            cells = bench_backend(backend, args, Path(tmp))
            text_, ok = report(backend, cells, args.concurrency)
            reports.append(text_)
            verdicts += ok
    print()
    print("\n\n".join(reports))
    elapsed = time.perf_counter() - started
    overall = "no goal measured" if not verdicts else "PASS" if all(verdicts) else "MISS"
    print(f"\noverall: {overall} ({elapsed:.0f} s)")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
