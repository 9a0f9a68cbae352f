"""The wired runtime: settings → database, contracts, plugins, desk; events reach plugins."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core import hookimpl
from core.case import Category, Channel, RequestType
from core.commands import Assign, Caller, OpenCase
from core.events import RecordedEvent
from core.plugins import make_plugin_manager
from core.runtime import build_runtime
from core.settings import Settings
from core.store import orm
from core.store.db import make_engine
from core.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 10, 14, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"CASETRACK_DATABASE_URL": "postgresql://db/x", "CASETRACK_CASE_PREFIX": "WH"}
    )
    assert (settings.database_url, settings.case_prefix) == ("postgresql://db/x", "WH")
    assert Settings.from_env({}).database_url == "sqlite:///var/casetrack.db"


def test_hook_case_event_recorded_fires_after_commit(db_url: str, tmp_path: Path) -> None:
    seen: list[tuple[str, int, str | None, bool]] = []

    class Listener:
        @hookimpl
        def case_event_recorded(self, event: RecordedEvent, contract) -> None:
            # the event must already be committed: a fresh connection sees it
            with runtime.sessions() as other:
                stored = other.scalar(
                    select(orm.CaseEvent.hash)
                    .join(orm.Case, orm.Case.id == orm.CaseEvent.case_id)
                    .where(orm.Case.number == event.case_number, orm.CaseEvent.seq == event.seq)
                )
            seen.append(
                (event.kind, event.seq, contract.id if contract else None, stored == event.hash)
            )

    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(Listener(), name="undo-listener")
    settings = Settings(
        database_url=db_url, contracts_dir=str(ROOT / "contracts"), var_dir=str(tmp_path / "var")
    )
    upgrade(make_engine(db_url))
    runtime = build_runtime(settings, pm=pm)
    try:
        cmd = OpenCase(
            contract_id="wdkn-hospital-2026",
            caller=Caller(name="周医生"),
            summary="slow PACS",
            category=Category.CONSULTING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P3",
            channel=Channel.PHONE,
        )
        receipt = runtime.desk.open_case(cmd, actor="agent", now=NOW)
        runtime.desk.assign(receipt.number, Assign(engineer="yu-tao"), actor="agent", now=NOW)
    finally:
        runtime.close()
    assert receipt.events == (1,)
    assert seen == [
        ("opened", 1, "wdkn-hospital-2026", True),
        ("assigned", 2, "wdkn-hospital-2026", True),
    ]
    assert (tmp_path / "var" / "secret.key").exists()  # embedded default key was created
