"""The maintenance documents the scheduler mails (core/jobs/documents.py): the stage report of
the whole contract when its period ends and the periodic service summaries, as PDFs to the
contract's contacts through a real SMTP server (aiosmtpd), recorded in document_runs, sent
once even when two schedulers pass at the same instant, retried after a refusal."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from concurrency import at_the_same_instant
from documents_story import PORT, tell
from sqlalchemy import select

from core.jobs.documents import DEAD, FAILED, SENT, document_pass, due_documents
from core.loaded import ContractSet
from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.store.orm import DocumentRun

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
AFTER_END = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 October in Weihai
WHOLE = "2025-10-01..2026-09-30"  # sdgw-2025's period


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Mailbox:
    """An aiosmtpd handler: keeps each message; refuses DATA with a 451 ``refuse`` times."""

    received: list[EmailMessage] = dataclasses.field(default_factory=list)
    refuse: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        self.received.append(message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]
        return "250 2.0.0 OK queued"


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CASETRACK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CASETRACK_SMTP_PORT", str(port))
    monkeypatch.setenv("CASETRACK_SMTP_FROM", "desk@mingsheng.example.cn")
    try:
        yield box
    finally:
        controller.stop()


def port_only(contracts: ContractSet, **documents: Any) -> ContractSet:
    """The port's contract alone, its ``documents`` settings changed as given."""
    lc = contracts.get(PORT)
    wanted = msgspec.structs.replace(lc.contract.documents, **documents)
    changed = dataclasses.replace(
        lc, contract=msgspec.structs.replace(lc.contract, documents=wanted)
    )
    return ContractSet({PORT: changed}, contracts.catalog, contracts.registry)


def make_runtime(db_url: str, var: Path, **documents: Any) -> Runtime:
    settings = Settings(database_url=db_url, contracts_dir=str(CONTRACTS), var_dir=str(var))
    runtime = build_runtime(settings, clock=lambda: AFTER_END)
    runtime.use_contracts(port_only(runtime.contracts, **documents))
    return runtime


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[Runtime]:
    runtime = make_runtime(db_url, tmp_path / "var", summary_every="off")
    tell(runtime)  # the port's first quarter of 2026
    yield runtime
    runtime.close()


def runs(runtime: Runtime) -> list[DocumentRun]:
    with runtime.sessions() as session:
        return list(session.execute(select(DocumentRun)).scalars().all())


def test_the_stage_report_is_due_when_the_contract_ends_and_summaries_each_period(
    tmp_path: Path,
) -> None:
    runtime = make_runtime(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)  # summaries quarterly

    def due(now: datetime) -> list[str]:
        return [f"{d.kind} {d.period.label}" for d in due_documents(runtime, now)]

    assert due(datetime(2026, 9, 30, 15, 59, tzinfo=UTC)) == ["summary 2026Q2"]  # 23:59 local
    assert due(AFTER_END) == [f"stage {WHOLE}", "summary 2026Q3"]
    assert due(AFTER_END + timedelta(days=31)) == ["summary 2026Q3"]  # the stage: too late
    assert due(AFTER_END + timedelta(days=93)) == []  # 2026Q4: the contract had ended
    runtime.use_contracts(port_only(runtime.contracts, summary_every="monthly"))
    assert due(datetime(2026, 3, 1, 1, 0, tzinfo=UTC)) == ["summary 2026-02"]
    runtime.use_contracts(port_only(runtime.contracts, summary_every="off", stage_report=False))
    assert due(AFTER_END) == []
    runtime.close()


def test_the_stage_report_is_mailed_as_pdf_once_and_recorded(
    runtime: Runtime, mailbox: Mailbox
) -> None:
    from core.jobs.loop import Background

    lines: list[str] = []
    background = Background(runtime, None, interval=1, worker=False, log=lines.append)  # type: ignore[arg-type]
    first = background.run_documents()  # what the loop runs every REPORT_EVERY seconds
    assert first is not None and first.sent == [f"{PORT} stage {WHOLE}"], lines
    assert document_pass(runtime, now=AFTER_END + timedelta(hours=1)).quiet()
    [message] = mailbox.received
    assert "合同期末阶段报告" in str(message["Subject"])
    assert message["To"].addresses[0].addr_spec == "ju.wentao@sdgw.example.com"  # it-manager
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"{PORT}-summary-contract.pdf"
    data = pdf.get_content()
    assert data.startswith(b"%PDF-")
    [run] = runs(runtime)
    assert (run.contract_id, run.kind, run.period, run.state) == (PORT, "stage", WHOLE, SENT)
    assert run.sent_at == AFTER_END and run.recipients[0]["name"] == "鞠文涛"
    assert runtime.desk.blobs is not None and runtime.desk.blobs.get(run.pdf_sha256 or "") == data


def test_two_schedulers_at_the_same_instant_send_the_stage_report_once(
    runtime: Runtime, db_url: str, tmp_path: Path, mailbox: Mailbox
) -> None:
    other = make_runtime(db_url, tmp_path / "var2", summary_every="off")
    try:
        results = at_the_same_instant(
            lambda: document_pass(runtime, now=AFTER_END, worker="scheduler-a").sent,
            lambda: document_pass(other, now=AFTER_END, worker="scheduler-b").sent,
        )
    finally:
        other.close()
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(mailbox.received) == 1
    assert [r.state for r in runs(runtime)] == [SENT]


def test_a_refused_mail_is_retried_later_and_a_contract_without_e_mail_is_dead(
    runtime: Runtime, mailbox: Mailbox
) -> None:
    mailbox.refuse = 1
    failed = document_pass(runtime, now=AFTER_END)
    assert failed.failed == [f"{PORT} stage {WHOLE}"] and mailbox.received == []
    [run] = runs(runtime)
    assert run.state == FAILED and run.next_attempt_at == AFTER_END + timedelta(minutes=5)
    assert document_pass(runtime, now=AFTER_END + timedelta(minutes=1)).quiet()  # not yet
    again = document_pass(runtime, now=AFTER_END + timedelta(minutes=5))
    assert again.sent == [f"{PORT} stage {WHOLE}"] and len(mailbox.received) == 1
    [run] = runs(runtime)
    assert (run.state, run.attempts) == (SENT, 2)

    lc = runtime.contracts.get(PORT)  # the monthly summary of a contract without an e-mail
    customer = msgspec.structs.replace(lc.contract.customer, contacts=[])
    contract = msgspec.structs.replace(lc.contract, customer=customer)
    bare = port_only(
        ContractSet(
            {PORT: dataclasses.replace(lc, contract=contract)},
            runtime.contracts.catalog,
            runtime.contracts.registry,
        ),
        summary_every="monthly",
    )
    runtime.use_contracts(bare)
    done = document_pass(runtime, now=AFTER_END)
    assert done.errors == [f"{PORT} summary 2026-09: no customer contact has an e-mail address"]
    assert {(r.kind, r.state) for r in runs(runtime)} == {("stage", SENT), ("summary", DEAD)}
