"""The ceiling for bench/api.py: a bare litestar app whose one endpoint does ONE INSERT.

    python -m uvicorn --app-dir bench _ceiling_app:app_from_env --factory

`POST /insert` takes a JSON object (decoded by litestar, as the case endpoint decodes its
body), inserts one row into `bench_ceiling` with SQLAlchemy Core on an engine made by
core.store.db.make_engine (the engine settings casetrack uses: SQLite pragmas and BEGIN IMMEDIATE,
PostgreSQL pre-ping, default pool) and answers 201. No auth, no ORM, no business rules: the
best a litestar endpoint can do against that database on this machine.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, get, post
from litestar.datastructures import State
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.store.db import make_engine

metadata = MetaData()
ceiling = Table(
    "bench_ceiling",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("summary", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
STATEMENT = insert(ceiling).returning(ceiling.c.id)


@post("/insert", sync_to_thread=True, status_code=201)
def insert_one(data: dict[str, Any], state: State) -> dict[str, int]:
    with state.engine.begin() as connection:
        row_id = connection.execute(
            STATEMENT,
            {"summary": str(data.get("summary", "")), "created_at": datetime.now(UTC)},
        ).scalar_one()
    return {"id": row_id}


@get("/readyz", sync_to_thread=False)
def readyz() -> Response[dict[str, str]]:
    return Response({"status": "ready"})


def app_from_env() -> Litestar:
    engine = make_engine(os.environ["CASETRACK_DATABASE_URL"])
    metadata.create_all(engine)
    return Litestar(
        route_handlers=[insert_one, readyz],
        state=State({"engine": engine}),
        on_shutdown=[engine.dispose],
        debug=False,
    )
