"""Written notice of a hotline or contact change (R-QUAL: 如果服务号码需要更改,至少提前三天以
书面形式(含传真)通知到用户相关部门和人员; docs/maintenance.md).

The notice is recorded (``service_notices``) and sent through the outbox to every contact of
the contract: by e-mail to a contact with an address, else by SMS (the ``sms`` channel,
plugins/sms_notify) to its mobile number; a contact with neither is listed as such (a fax or
letter is on us). A change announced less than ``notice_days`` ahead is refused unless
forced with a reason, which the record keeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select

from core.case import NotificationState
from core.commands import AnnounceChange
from core.desk.base import DeskBase
from core.desk.errors import InvalidCommand, NoticeTooShort
from core.jobs.scheduler import insert_outbox
from core.loaded import LoadedContract
from core.store import orm

NOTICE_TEMPLATE = "service_notice"
DEFAULT_NOTICE_DAYS = 3  # settings.notice_days: the handbook's 至少提前三天


class NoticeView(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded notice: what changes when, who announced it, to whom it went."""

    id: int
    contract_id: str
    subject: str
    old_value: str
    new_value: str
    effective_at: datetime
    announced_at: datetime
    announced_by: str
    forced: bool
    force_reason: str | None
    recipients: list[dict[str, Any]]


class NoticeCommands(DeskBase):
    """``announce_change`` and the notices recorded."""

    notice_days: int = DEFAULT_NOTICE_DAYS

    def announce_change(
        self, contract_id: str, cmd: AnnounceChange, *, actor: str, now: datetime
    ) -> NoticeView:
        """Record the notice and queue its e-mails, in one transaction."""
        lc = self._contract(contract_id)
        self._check_notice(cmd, now)
        recipients = _recipients(lc)
        with self.sessions.begin() as session:
            row = orm.ServiceNotice(
                contract_id=lc.id,
                subject=cmd.subject,
                old_value=cmd.old_value,
                new_value=cmd.new_value,
                effective_at=cmd.effective_at,
                announced_at=now,
                announced_by=actor,
                forced=cmd.force,
                force_reason=cmd.force_reason if cmd.force else None,
                recipients=[_listed(r) for r in recipients],
            )
            session.add(row)
            session.flush()
            outbox = [
                _outbox_row(row, lc, person, i, now)
                for i, person in enumerate(recipients)
                if person["channel"]
            ]
            insert_outbox(session, outbox)
            return notice_view(row)

    def _check_notice(self, cmd: AnnounceChange, now: datetime) -> None:
        if cmd.force and not cmd.force_reason:
            raise InvalidCommand("a forced notice needs force_reason: why the notice is short")
        ahead = cmd.effective_at - now
        if ahead >= timedelta(days=self.notice_days) or cmd.force:
            return
        hours = max(ahead.total_seconds(), 0) / 3600
        raise NoticeTooShort(
            f"a {cmd.subject} change must be announced in writing at least {self.notice_days} "
            f"days ahead (至少提前三天以书面形式通知); {cmd.effective_at.isoformat()} is "
            f"{hours:.0f} hours away: move the change, or force it with force_reason"
        )

    def notices(self, contract_id: str) -> list[NoticeView]:
        lc = self._contract(contract_id)
        with self.sessions() as session:
            rows = session.scalars(
                select(orm.ServiceNotice)
                .where(orm.ServiceNotice.contract_id == lc.id)
                .order_by(orm.ServiceNotice.id)
            )
            return [notice_view(row) for row in rows]


def notice_view(row: orm.ServiceNotice) -> NoticeView:
    return NoticeView(
        id=row.id,
        contract_id=row.contract_id,
        subject=row.subject,
        old_value=row.old_value,
        new_value=row.new_value,
        effective_at=row.effective_at,
        announced_at=row.announced_at,
        announced_by=row.announced_by,
        forced=row.forced,
        force_reason=row.force_reason,
        recipients=list(row.recipients),
    )


def _recipients(lc: LoadedContract) -> list[dict[str, Any]]:
    """Every customer contact: by e-mail when it has an address, else by SMS when it has a
    mobile number (the contract's ``mobile``, checked as one when the file is loaded), else
    listed as unsent."""
    return [_recipient(c.name, c.role, c.email, c.mobile) for c in lc.contract.customer.contacts]


def _recipient(name: str, role: str, email: str | None, mobile: str | None) -> dict[str, Any]:
    channel = "email" if email else "sms" if mobile else None
    return {
        "name": name,
        "role": role,
        "email": email,
        "mobile": mobile if channel == "sms" else None,
        "channel": channel,
        "why": None if channel else "no e-mail address or mobile number: send it by fax or letter",
    }


def _listed(person: dict[str, Any]) -> dict[str, Any]:
    """What the notice's record keeps of a recipient: no address or number."""
    return {k: v for k, v in person.items() if k not in ("email", "mobile")}


def _outbox_row(
    row: orm.ServiceNotice, lc: LoadedContract, person: dict[str, Any], i: int, now: datetime
) -> dict[str, Any]:
    tz = lc.calendar("duty").tz
    return {
        "case_id": None,
        "clock_id": None,
        "event_seq": 0,
        "level": 0,
        "channel": person["channel"],
        "recipient": {
            "id": f"contact:{lc.id}:{i}",
            "name": person["name"],
            "role": person["role"],
            "email": person["email"],
            "mobile": person["mobile"],
            "locale": "zh",
        },
        "template": NOTICE_TEMPLATE,
        "variables": {
            "customer": lc.contract.customer.name,
            "contract_id": lc.id,
            "subject": row.subject,
            "old_value": row.old_value,
            "new_value": row.new_value,
            "effective_at": row.effective_at.astimezone(tz).isoformat(),
            "announced_at": row.announced_at.astimezone(tz).isoformat(),
        },
        "idempotency_key": f"notice:{row.id}:{i}:{person['channel']}",
        "state": NotificationState.QUEUED.value,
        "attempts": 0,
        "last_error": None,
        "send_after": now,
        "created_at": now,
        "sent_at": None,
        "request_id": None,
    }
