"""Hotline and contact change notices (issue 16, R-QUAL 至少提前三天以书面形式通知) to contacts
without an e-mail address: by SMS to their mobile number through the outbox and the sms_notify
plugin, checked at the local Alibaba gateway of tests/test_sms_notify.py and in the spool used
without one, on both database back ends; a contact with neither is listed, not sent."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import test_sms_notify
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from test_sms_notify import KEY_ID, SECRET, SIGN, FakeAlibaba

from core.commands import AnnounceChange
from core.desk import CaseDesk
from core.jobs.deliver import deliver
from core.plugins import make_plugin_manager
from core.runtime import Runtime
from core.settings import Settings
from core.sources.contracts import load_contracts
from core.staff import load_staff
from core.store import orm
from core.store.blobs import LocalBlobs
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
PORT = "sdgw-2025"
T = datetime(2026, 2, 2, 9, 5, tzinfo=SH)
# 毕红梅 keeps her mobile, 于海波 has none: without their e-mail addresses one gets an SMS,
# the other is listed for a fax or letter
NO_MAIL = ("bi.hongmei@sdgw.example.com", "yu.haibo@sdgw.example.com")

fake = test_sms_notify.fake


@pytest.fixture
def runtime(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[Runtime]:
    folder = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", folder)
    port = folder / "shidao-port.yaml"
    text = port.read_text(encoding="utf-8")
    for address in NO_MAIL:
        assert f"      email: {address}\n" in text
        text = text.replace(f"      email: {address}\n", "")
    port.write_text(text, encoding="utf-8")
    contracts = load_contracts([folder])
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        contracts_dir=str(folder),
        var_dir=str(tmp_path / "var"),
    )
    staff = load_staff(folder / "staff" / "staff.yaml")
    desk = CaseDesk(
        sessions,
        contracts,
        vault=CredentialVault(Fernet.generate_key()),
        staff=lambda: staff,
        blobs=LocalBlobs(tmp_path / "attachments"),
    )
    yield Runtime(
        settings, engine, sessions, contracts, make_plugin_manager(load_entrypoints=False), desk
    )


def hotline() -> AnnounceChange:
    return AnnounceChange(
        subject="hotline",
        old_value="0631-5187755",
        new_value="0631-5187766",
        effective_at=T + timedelta(days=3),
    )


def notice_rows(runtime: Runtime) -> list[orm.Notification]:
    with runtime.sessions() as session:
        query = select(orm.Notification).where(orm.Notification.template == "service_notice")
        return list(session.scalars(query.order_by(orm.Notification.id)))


def test_a_contact_without_email_gets_the_notice_by_sms_and_one_without_a_mobile_is_listed(
    runtime: Runtime,
) -> None:
    notice = runtime.desk.announce_change(PORT, hotline(), actor="pm:wang-lei", now=T)
    rows = notice_rows(runtime)
    assert sorted((r.channel, r.recipient["name"]) for r in rows) == [
        ("email", "汤立新"),
        ("email", "鞠文涛"),
        ("sms", "毕红梅"),
    ]
    (sms,) = [r for r in rows if r.channel == "sms"]
    assert sms.recipient["mobile"] == "15863112402" and sms.recipient["email"] is None
    assert sms.idempotency_key == f"notice:{notice.id}:1:sms" and sms.case_id is None
    listed = {r["name"]: r for r in notice.recipients}
    assert listed["毕红梅"]["channel"] == "sms" and listed["毕红梅"]["why"] is None
    assert listed["于海波"]["channel"] is None
    assert "fax or letter" in listed["于海波"]["why"]
    # the record lists recipients, not their addresses
    assert all("mobile" not in r and "email" not in r for r in notice.recipients)


def test_the_sms_notice_reaches_the_gateway_with_the_change(
    runtime: Runtime, fake: FakeAlibaba, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASETRACK_SMS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("CASETRACK_SMS_ACCESS_KEY_SECRET", SECRET)
    monkeypatch.setenv("CASETRACK_SMS_SIGN_NAME", SIGN)
    monkeypatch.setenv("CASETRACK_SMS_ENDPOINT", fake.endpoint)
    fake.timestamp_ok = fake.near_wall_clock  # the sender built from the environment signs now
    runtime.desk.announce_change(PORT, hotline(), actor="pm:wang-lei", now=T)
    (sms,) = [r for r in notice_rows(runtime) if r.channel == "sms"]
    assert deliver(runtime, sms.id, now=T) == "sent"
    (sent,) = fake.sent
    assert sent["PhoneNumbers"] == "15863112402"
    assert sent["TemplateCode"] == "SMS_000000015"  # service_notice, zh
    assert json.loads(sent["TemplateParam"]) == {
        "customer": "荣成市石岛湾港务有限公司",
        "subject": "服务热线",
        "old_value": "0631-5187755",
        "new_value": "0631-5187766",
        "effective_at": "2026-02-05 09:05",
    }
    (row,) = [r for r in notice_rows(runtime) if r.id == sms.id]
    assert row.state == "sent"


def test_without_a_gateway_the_sms_notice_is_spooled_as_text(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in test_sms_notify.SMS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASETRACK_SMS_SPOOL", str(tmp_path / "spool"))
    runtime.desk.announce_change(PORT, hotline(), actor="pm:wang-lei", now=T)
    (sms,) = [r for r in notice_rows(runtime) if r.channel == "sms"]
    assert deliver(runtime, sms.id, now=T) == "sent"
    (spooled,) = (tmp_path / "spool").glob("*.json")
    record = json.loads(spooled.read_text(encoding="utf-8"))
    assert record["recipient"]["phone"] == "+8615863112402"
    assert record["text"] == (
        "荣成市石岛湾港务有限公司：我方服务热线将于2026-02-05 09:05起由0631-5187755变更为"
        "0631-5187766，特此书面通知。变更前原服务热线照常受理。"
    )
