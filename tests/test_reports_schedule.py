"""Periodic reports: due at period end, e-mailed as a PDF to the contract's contact through the
e-mail notifier (its spool here), recorded in report_runs, and sent once even when two
schedulers pass at the same instant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import msgspec
import pytest
from concurrency import at_the_same_instant
from sqlalchemy import select

from core.jobs.reports import DEAD, SENT, due_periods, recipients_for, report_pass
from core.loaded import ContractSet
from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.store.orm import ReportRun
from report_fixture import HOSPITAL, known

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
AFTER_Q3 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 October in Weihai


def only_hospital_reports(contracts: ContractSet) -> ContractSet:
    """The repository's contracts with reports off for all but the hospital (one PDF)."""
    import dataclasses

    changed = {}
    for cid, lc in contracts.contracts.items():
        every = lc.contract.reports.every if cid == HOSPITAL else "off"
        reports = msgspec.structs.replace(lc.contract.reports, every=every)
        changed[cid] = dataclasses.replace(
            lc, contract=msgspec.structs.replace(lc.contract, reports=reports)
        )
    return ContractSet(changed, contracts.catalog, contracts.registry)


def make_runtime(db_url: str, var: Path) -> Runtime:
    settings = Settings(database_url=db_url, contracts_dir=str(CONTRACTS), var_dir=str(var))
    runtime = build_runtime(settings, clock=lambda: AFTER_Q3)
    runtime.use_contracts(only_hospital_reports(runtime.contracts))
    return runtime


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CASETRACK_SMTP_HOST", "CASETRACK_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASETRACK_EMAIL_SPOOL", str(tmp_path / "spool"))
    return tmp_path / "spool"


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, spool: Path) -> Iterator[Runtime]:
    runtime = make_runtime(db_url, tmp_path / "var")
    with runtime.sessions.begin() as session:
        known().load(session.connection())
    yield runtime
    runtime.close()


def mails(spool: Path) -> list[Path]:
    return sorted(spool.glob("*.eml")) if spool.exists() else []


def test_the_last_ended_period_is_due_in_the_desks_zone(tmp_path: Path) -> None:
    runtime = make_runtime(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    before = datetime(2026, 9, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 September in Weihai
    assert [p.label for _, p in due_periods(runtime, before)] == ["2026Q2"]
    assert [p.label for _, p in due_periods(runtime, AFTER_Q3)] == ["2026Q3"]
    runtime.close()


def test_a_monthly_contract_is_due_each_month(tmp_path: Path) -> None:
    runtime = make_runtime(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    lc = runtime.contracts.get(HOSPITAL)
    reports = msgspec.structs.replace(lc.contract.reports, every="monthly")
    import dataclasses

    monthly = dataclasses.replace(
        lc, contract=msgspec.structs.replace(lc.contract, reports=reports)
    )
    runtime.use_contracts(
        ContractSet({HOSPITAL: monthly}, runtime.contracts.catalog, runtime.contracts.registry)
    )
    assert [p.label for _, p in due_periods(runtime, AFTER_Q3)] == ["2026-09"]
    runtime.close()


def test_the_recipient_is_the_it_manager_by_default(runtime: Runtime) -> None:
    contract = runtime.contracts.get(HOSPITAL).contract
    assert [r.name for r in recipients_for(contract)] == ["徐晓东"]


def test_the_report_is_mailed_as_pdf_and_recorded_once(runtime: Runtime, spool: Path) -> None:
    from core.jobs.loop import Background

    lines: list[str] = []
    background = Background(runtime, None, interval=1, worker=False, log=lines.append)  # type: ignore[arg-type]
    first = background.run_reports()  # what the scheduler's loop runs every REPORT_EVERY s
    assert first is not None and first.sent == [f"{HOSPITAL} 2026Q3"], lines
    assert lines == [first.line()]
    again = report_pass(runtime, now=AFTER_Q3)
    assert again.quiet()
    [path] = mails(spool)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert "2026Q3" in str(message["Subject"])
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    data = pdf.get_content()
    assert data.startswith(b"%PDF-")
    with runtime.sessions() as session:
        [run] = session.execute(select(ReportRun)).scalars().all()
    assert (run.contract_id, run.period, run.state) == (HOSPITAL, "2026Q3", SENT)
    assert run.sent_at == AFTER_Q3
    assert run.recipients[0]["name"] == "徐晓东"
    assert run.figures is not None and run.figures["major_total"] == 1
    assert runtime.desk.blobs is not None and runtime.desk.blobs.get(run.pdf_sha256 or "") == data


def test_a_contract_without_an_e_mail_contact_is_recorded_dead(
    runtime: Runtime, spool: Path
) -> None:
    lc = runtime.contracts.get(HOSPITAL)
    import dataclasses

    customer = msgspec.structs.replace(lc.contract.customer, contacts=[])
    bare = dataclasses.replace(lc, contract=msgspec.structs.replace(lc.contract, customer=customer))
    runtime.use_contracts(
        ContractSet({HOSPITAL: bare}, runtime.contracts.catalog, runtime.contracts.registry)
    )
    done = report_pass(runtime, now=AFTER_Q3)
    assert done.sent == [] and done.errors[0].startswith(f"{HOSPITAL} 2026Q3: no customer")
    assert mails(spool) == []
    with runtime.sessions() as session:
        [run] = session.execute(select(ReportRun)).scalars().all()
    assert run.state == DEAD and run.last_error


def test_two_schedulers_at_the_same_instant_send_once(
    runtime: Runtime, db_url: str, tmp_path: Path, spool: Path
) -> None:
    other = make_runtime(db_url, tmp_path / "var2")
    try:
        results = at_the_same_instant(
            lambda: report_pass(runtime, now=AFTER_Q3, worker="scheduler-a").sent,
            lambda: report_pass(other, now=AFTER_Q3, worker="scheduler-b").sent,
        )
    finally:
        other.close()
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(mails(spool)) == 1
    with runtime.sessions() as session:
        assert len(session.execute(select(ReportRun)).all()) == 1


def test_a_failed_report_is_taken_back_and_sent_by_a_later_pass(
    runtime: Runtime, spool: Path
) -> None:
    """The row of a transient failure (as core/jobs/runs.py leaves it) is sent again once its
    next attempt is due, for the period the row names."""
    from datetime import timedelta

    from sqlalchemy import update

    from core.jobs.reports import LEDGER
    from core.reports.period import parse_period

    period = parse_period("2026Q3", runtime.settings.timezone)
    run_id = LEDGER.claim(runtime, (HOSPITAL, "2026Q3"), period, AFTER_Q3, "scheduler-a")
    assert run_id is not None
    retry_at = AFTER_Q3 + timedelta(minutes=5)
    with runtime.sessions.begin() as session:
        session.execute(
            update(ReportRun).values(state="failed", next_attempt_at=retry_at, last_error="451")
        )
    assert report_pass(runtime, now=AFTER_Q3 + timedelta(minutes=1)).quiet()  # not yet
    done = report_pass(runtime, now=retry_at, worker="scheduler-b")
    assert done.sent == [f"{HOSPITAL} 2026Q3"] and len(mails(spool)) == 1
    with runtime.sessions() as session:
        [run] = session.execute(select(ReportRun)).scalars().all()
    assert (run.state, run.attempts, run.claimed_by) == (SENT, 2, "scheduler-b")
    assert run.period_start == period.start and run.figures is not None
