"""Milestones that stop their clocks: spare parts, remote access, on-site support and the
emergency on-site progress reports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from msgspec import UNSET, UnsetType
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from core import clocks, sla
from core.case import IllegalTransition
from core.commands import Milestone, RemoteAccess, ReportProgress
from core.desk.base import DeskBase, Receipt, Stopped
from core.desk.entitlements import check_remote_consent
from core.desk.errors import InvalidCommand
from core.desk.onsite import current_visit
from core.errors import Forbidden, NotFoundError
from core.events import (
    CredentialsViewed,
    EventBody,
    OnsiteArrived,
    ProgressReported,
    RemoteAccessAgreed,
    RemoteLoggedIn,
    RmaStatus,
)
from core.instants import check_reported
from core.store import orm

PROGRESS_REPORT = "progress_report"
CONSENT_EVENT = RemoteAccessAgreed.__struct_config__.tag


class MilestoneCommands(DeskBase):
    """RMA status, remote access (with its stored credentials) and on-site visits."""

    def spare_shipped(self, number: str, cmd: Milestone, *, actor: str, now: datetime) -> Receipt:
        """RMA supply status: the part left; an arrival counted from shipment is re-planned."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            stopped = self._stop(case, "spare_ship", now)
            if stopped is None:
                raise IllegalTransition(number, case.status, "ship a part no clock waits for")
            self._replan_arrival(session, case, now)
            body = RmaStatus(rma_status="shipped", note=cmd.note, **_fields(stopped))
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _replan_arrival(self, session: Session, case: orm.Case, shipped_at: datetime) -> None:
        arrival = self._active(case, "spare_arrival")
        lc = self._contract(case.contract_id)
        device = self._device(session, lc, case.device_serial)
        if arrival is None or device is None:
            return
        deadline = sla.spare_arrival(
            lc,
            device=device,
            diagnosed_at=arrival.started_at,
            shipped_at=shipped_at,
            zone=case.zone,
        )
        arrival.rule = deadline.rule
        arrival.provisional = bool(deadline.provisional)
        clocks.replan(
            arrival,
            deadline.due,
            lc.calendar(arrival.calendar),
            self._ladder(lc, arrival.kind, case.priority),
        )

    def spare_arrived(self, number: str, cmd: Milestone, *, actor: str, now: datetime) -> Receipt:
        def arrived(case: orm.Case, stopped: Stopped, now: datetime) -> RmaStatus:
            return RmaStatus(rma_status="arrived", note=cmd.note, **_fields(stopped))

        return self._milestone(number, cmd, "spare_arrival", "rma_status", arrived, actor, now)

    def remote_logged_in(
        self, number: str, cmd: Milestone, *, actor: str, now: datetime
    ) -> Receipt:
        def logged_in(case: orm.Case, stopped: Stopped, now: datetime) -> RemoteLoggedIn:
            return RemoteLoggedIn(note=cmd.note, **_fields(stopped))

        return self._milestone(
            number,
            cmd,
            "remote_access",
            "remote_logged_in",
            logged_in,
            actor,
            now,
            check=self._check_consent,
        )

    def _check_consent(self, session: Session, case: orm.Case) -> None:
        """No login on the customer's device before their consent is recorded (R-RESP)."""
        consent = session.scalar(
            select(orm.CaseEvent.seq)
            .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind == CONSENT_EVENT)
            .limit(1)
        )
        check_remote_consent(self._contract(case.contract_id), case.number, consent is not None)

    def onsite_arrived(self, number: str, cmd: Milestone, *, actor: str, now: datetime) -> Receipt:
        """The engineer is on site; on an emergency the progress reports start (限时上报)."""

        def arrived(case: orm.Case, stopped: Stopped, now: datetime) -> OnsiteArrived:
            return OnsiteArrived(
                note=cmd.note,
                **_fields(stopped),
                progress_report_due=self._start_progress_reports(case, now),
            )

        return self._milestone(number, cmd, "onsite_arrival", "onsite_arrived", arrived, actor, now)

    def _milestone(
        self,
        number: str,
        cmd: Milestone,
        kind: str,
        event: str,
        build: Callable[[orm.Case, Stopped, datetime], EventBody],
        actor: str,
        now: datetime,
        check: Callable[[Session, orm.Case], None] | None = None,
    ) -> Receipt:
        """Stop ``kind``'s clock and record ``event``, the body ``build`` makes; ``check``
        may refuse first (an entitlement)."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if check is not None:
                check(session, case)
            stopped = self._stop(case, kind, now)
            if stopped is None:
                raise IllegalTransition(number, case.status, f"record {event}: no {kind} clock")
            body = build(case, stopped, now)
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    # --- emergency progress reports (限时上报) ----------------------------------------------

    def _start_progress_reports(self, case: orm.Case, now: datetime) -> datetime | UnsetType:
        """An emergency case's engineer arrived: the first report is due one interval later
        (none when the case is no emergency or the contract turns reports off)."""
        lc = self._contract(case.contract_id)
        if lc.contract.onsite.progress_interval is None:
            return UNSET
        if not case.emergency and not _emergency_visit(case):
            return UNSET
        if self._active(case, PROGRESS_REPORT) is not None:
            return UNSET  # a second visit while reports already run: the cadence goes on
        clock = self._start(case, lc, sla.progress_report(lc, since=now, verb="arrived"))
        return clock.deadline

    def report_progress(
        self, number: str, cmd: ReportProgress, *, actor: str, now: datetime
    ) -> Receipt:
        """A progress report: the running report clock is met (breached when late) and the
        next report is due one interval from now, unless the report is the final one."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "report progress")
            stopped = self._stop(case, PROGRESS_REPORT, now)
            if stopped is None:
                raise IllegalTransition(
                    number,
                    case.status,
                    "report progress: no report is due (reports run on emergency cases "
                    "once the engineer is on site)",
                )
            next_due = None
            lc = self._contract(case.contract_id)
            # a contract reloaded with the reports turned off ends the cadence like `final`
            if not cmd.final and lc.contract.onsite.progress_interval is not None:
                deadline = sla.progress_report(lc, since=now, verb="reported")
                next_due = self._start(case, lc, deadline).deadline
            body = ProgressReported(
                text=cmd.text, final=cmd.final, **_fields(stopped), next_due=next_due
            )
            events.append(self._record(session, case, body, actor, now, str(cmd.visibility)))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def grant_remote_access(
        self, number: str, cmd: RemoteAccess, *, actor: str, now: datetime
    ) -> Receipt:
        """Consent recorded, credentials stored encrypted (never in events), clock started."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "arrange remote access")
            self._require_contracted(case, "start the remote-access clock")
            check_reported(
                "$.consent_at", cmd.consent_at, opened_at=case.opened_at, now=now, skew=self.skew
            )
            if cmd.credentials:
                self._store_secret(session, case, cmd.credentials, actor, now)
            lc = self._contract(case.contract_id)
            self._start(case, lc, sla.remote_access(lc, agreed_at=cmd.consent_at))
            body = RemoteAccessAgreed(
                consent_by=cmd.consent_by,
                consent_at=cmd.consent_at,
                credentials_stored=sorted(cmd.credentials),  # which fields, never values
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _store_secret(
        self,
        session: Session,
        case: orm.Case,
        credentials: dict[str, str],
        actor: str,
        now: datetime,
    ) -> None:
        if self.vault is None:
            raise InvalidCommand("no credential key configured: cannot store credentials")
        ciphertext = self.vault.encrypt(credentials)
        secret = session.get(orm.CaseSecret, case.id)
        if secret is None:
            session.add(
                orm.CaseSecret(
                    case_id=case.id, ciphertext=ciphertext, stored_at=now, stored_by=actor
                )
            )
        else:
            secret.ciphertext, secret.stored_at, secret.stored_by = ciphertext, now, actor

    def reveal_credentials(self, number: str, *, actor: str, now: datetime) -> dict[str, str]:
        """Only the assigned engineer sees the credentials; the viewing itself is recorded."""
        with self._unit() as (session, events):
            case = self._load(session, number)
            if case.assignee is None or actor != case.assignee:
                raise Forbidden(f"only the engineer assigned to {number} may see its credentials")
            secret = session.get(orm.CaseSecret, case.id)
            if secret is None or self.vault is None:
                raise NotFoundError(f"case {number} has no stored credentials")
            credentials = self.vault.decrypt(secret.ciphertext)
            events.append(self._record(session, case, CredentialsViewed(), actor, now))
            return credentials


def _emergency_visit(case: orm.Case) -> bool:
    """The visit under way was dispatched as an emergency (an engineer went straight to the
    site on a case not opened as one)."""
    session = object_session(case)
    if session is None:
        return False
    # no autoflush: the stopped arrival clock must still be "changed" when the event records it
    with session.no_autoflush:
        visit = current_visit(session, case)
    return visit is not None and visit.emergency and visit.arrived is None


def _fields(stopped: Stopped) -> dict[str, Any]:
    """The stopped clock's fields of a milestone's body (clock, outcome, deadline)."""
    return {"clock": stopped.clock, "outcome": stopped.outcome, "deadline": stopped.deadline}
