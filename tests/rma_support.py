"""What the RMA tests share: a local MTA (aiosmtpd) that delivers our mailbox to the RMA mail
drop and keeps outbound mail, Digital China replies, and a runtime with a case to work on."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from core.case import Category, Channel, RequestType
from core.commands import Caller, OpenCase
from core.runtime import Runtime, build_runtime
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
PORT_CONTRACT = "sdgw-2025"  # 石岛港: 2025-10-01..2026-09-30, Digital China devices
DORADO = "2102353SYB10P1000077"  # Huawei OceanStor Dorado, rma: digital_china, 24x7x48h
OUR_DOMAIN = "mingsheng.example.cn"
DESK_ADDRESS = f"servicedesk@{OUR_DOMAIN}"
DC_ADDRESS = "rma@digitalchina.example.cn"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalMta:
    """An aiosmtpd handler acting as the site's MTA: mail for our domain is delivered into a
    maildir (``<drop>/new``, written to ``tmp`` then renamed, as maildir delivery does);
    any other recipient's mail is kept in ``outbound`` (what a relay would pass on)."""

    drop: Path
    outbound: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        local = [r for r in envelope.rcpt_tos if r.lower().endswith("@" + OUR_DOMAIN)]
        if local:
            name = f"{uuid.uuid4().hex}.{socket.gethostname()}"
            (self.drop / "tmp").mkdir(parents=True, exist_ok=True)
            (self.drop / "new").mkdir(parents=True, exist_ok=True)
            temp = self.drop / "tmp" / name
            temp.write_bytes(content)
            os.replace(temp, self.drop / "new" / name)
        if len(local) < len(envelope.rcpt_tos):
            self.outbound.append(content)
        return "250 2.0.0 Ok: queued"

    def outbound_messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for raw in self.outbound
        ]


@contextmanager
def local_mta(drop: Path) -> Iterator[tuple[LocalMta, int]]:
    handler = LocalMta(drop)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def dc_reply(
    lines: list[str],
    *,
    subject: str = "Re: [RMA open] MS-2026-000001 key=MS-2026-000001/2102353SYB10P1000077/1",
    sent: datetime | None = None,
    json_part: str | None = None,
) -> bytes:
    """A reply as Digital China's RMA desk writes it: ``Key: value`` lines, optionally a
    JSON part, our request quoted below."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "神州数码备件中心 <rma@digitalchina.example.cn>"
    message["To"] = DESK_ADDRESS
    message["Subject"] = subject
    message["Date"] = format_datetime(sent or at("2026-02-12T14:30"))
    message["Message-ID"] = f"<{uuid.uuid4().hex}@digitalchina.example.cn>"
    quoted = "\n> Action: open\n> Case: MS-2026-000001\n> Vendor-Case: -\n"
    message.set_content("\n".join(lines) + "\n" + quoted)
    if json_part is not None:
        message.add_attachment(
            json_part.encode(), maintype="application", subtype="json", filename="status.json"
        )
    return message.as_bytes()


def rma_runtime(db_url: str, tmp: Path, **settings: Any) -> Runtime:
    values: dict[str, Any] = {
        "database_url": db_url,
        "contracts_dir": str(ROOT / "contracts"),
        "var_dir": str(tmp / "var"),
        "rma_maildrop_dir": str(tmp / "maildrop"),
        "dc_rma_address": DC_ADDRESS,
        **settings,
    }
    return build_runtime(Settings(**values))


def open_port_case(runtime: Runtime, now: datetime, serial: str = DORADO) -> str:
    """A problem report on a Digital China device of the port's contract."""
    receipt = runtime.desk.open_case(
        OpenCase(
            contract_id=PORT_CONTRACT,
            caller=Caller(name="王工", company="石岛湾港务", phone="0631-7381234"),
            summary="Dorado controller B failed, part replacement needed",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P2",
            channel=Channel.PHONE,
            device_serial=serial,
        ),
        actor="agent",
        now=now,
    )
    return receipt.number
