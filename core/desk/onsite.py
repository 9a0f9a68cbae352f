"""On-site dispatch and the on-site procedure (R-RESP 现场支持, R-EXTRA; docs/onsite.md).

Dispatch: a normal on-site request is the service manager's, after phone and remote support
(the case records a call, a first response or remote access) or with an override reason; an
emergency sends the engineer straight to the site on the zone's emergency time. The contract
must have bought it (on-site support, on-site labour for a part swap), else it is refused
with the clause, or recorded as chargeable by explicit choice. The engineer is the one
named, else the support plan's stationed engineer, else the zone's on-duty engineer.

The procedure's steps and their order are core.desk.visits; attachments are uploaded first
(``attach``) and named by their SHA-256 in the step that carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import sla
from core.case import IllegalTransition
from core.commands import (
    EmergencyOnsite,
    OnsiteApproveOperation,
    OnsiteApproveSolution,
    OnsitePerformOperation,
    OnsitePrepare,
    OnsiteSignReport,
    OnsiteSignRequest,
    OnsiteTraining,
    RequestOnsite,
)
from core.desk import visits
from core.desk.base import DeskBase, Receipt
from core.desk.entitlements import onsite_refusal
from core.desk.errors import InvalidCommand, NotEntitled, RemoteSupportFirst, UnknownEngineer
from core.events import (
    AttachmentRef,
    EventBody,
    NoteAdded,
    OnsiteOperationApproved,
    OnsiteOperationPerformed,
    OnsitePrepared,
    OnsiteReportSigned,
    OnsiteRequested,
    OnsiteRequestSigned,
    OnsiteSolutionApproved,
    OnsiteTrainingGiven,
)
from core.loaded import LoadedContract
from core.store import orm
from core.store.blobs import BlobStoreError, UnknownAttachment, check_upload, read_blob

# what the case must record before a normal on-site request: phone or remote support tried
REMOTE_ATTEMPTS = ("call", "first_response", "remote_access_agreed", "remote_logged_in")

Build = Callable[[int, list[AttachmentRef]], EventBody]


class OnsiteCommands(DeskBase):
    """Dispatch (normal and emergency), the procedure's steps, attachments."""

    # --- dispatch ---------------------------------------------------------------------------

    def request_onsite(
        self, number: str, cmd: RequestOnsite, *, actor: str, now: datetime
    ) -> Receipt:
        """The service manager files the on-site request after phone and remote support:
        the zone's arrival clock starts (R-RESP 非紧急现场支持)."""
        return self._dispatch(number, cmd, emergency=False, actor=actor, now=now)

    def dispatch_emergency(
        self, number: str, cmd: EmergencyOnsite, *, actor: str, now: datetime
    ) -> Receipt:
        """An emergency: the engineer goes straight to the site on the zone's emergency time
        (R-RESP 紧急现场支持). On a case opened as an emergency the clock that started at the
        opening goes on."""
        return self._dispatch(number, cmd, emergency=True, actor=actor, now=now)

    def _dispatch(
        self,
        number: str,
        cmd: RequestOnsite | EmergencyOnsite,
        *,
        emergency: bool,
        actor: str,
        now: datetime,
    ) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "request on-site support")
            self._require_contracted(case, "start the on-site arrival clock")
            if case.zone is None:
                raise InvalidCommand(f"case {number} has no site/zone: on-site time is unknown")
            lc = self._contract(case.contract_id)
            self._check_chargeable(lc, case, cmd)
            override = getattr(cmd, "override_reason", None)
            if not emergency and not case.emergency and override is None:
                self._require_remote_attempt(session, case)
            # an emergency case's visits run on the emergency table whoever files them
            table_emergency = emergency or case.emergency
            running = self._active(case, "onsite_arrival")
            if running is not None and not (emergency and self._opened_emergency(session, case)):
                raise IllegalTransition(number, case.status, "request on-site twice")
            engineer, source = self._onsite_engineer(lc, case, cmd.engineer, now)
            plan = sla.active_plan(lc, now)
            if running is not None:
                deadline = running.deadline  # the emergency's clock since the opening
            else:
                if not sla.onsite_priced(lc, zone=case.zone, emergency=table_emergency, at=now):
                    raise NotEntitled(_unpriced(lc, case.zone, table_emergency))
                found = sla.onsite_arrival(
                    lc, zone=case.zone, emergency=table_emergency, agreed_at=now
                )
                self._start(case, lc, found)
                deadline = found.due
            body = OnsiteRequested(
                reason=cmd.reason,
                zone=case.zone,
                deadline=deadline,
                part_swap=True if cmd.part_swap else UNSET,
                emergency=True if emergency else UNSET,
                engineer=engineer if engineer is not None else UNSET,
                engineer_source=source if engineer is not None else UNSET,
                chargeable=True if cmd.chargeable else UNSET,
                chargeable_reason=(cmd.chargeable_reason or UNSET) if cmd.chargeable else UNSET,
                support_plan=plan.id if plan is not None else UNSET,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            if override is not None:
                note = NoteAdded(
                    text=f"on-site requested without a recorded phone or remote attempt: {override}"
                )
                events.append(self._record(session, case, note, actor, now))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _require_remote_attempt(self, session: Session, case: orm.Case) -> None:
        """R-RESP: on-site is for what phone and remote access could not fix."""
        tried = session.scalar(
            select(orm.CaseEvent.seq)
            .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind.in_(REMOTE_ATTEMPTS))
            .limit(1)
        )
        if tried is None:
            raise RemoteSupportFirst(
                f"case {case.number} records no phone or remote support (a call, a first "
                "response or remote access): non-emergency on-site support is for what phone "
                "and remote access could not fix (对于电话、远程接入支持不能解决的事项); record "
                "the attempt, or give override_reason"
            )

    def _opened_emergency(self, session: Session, case: orm.Case) -> bool:
        """A case opened as an emergency whose opening clock has no request yet."""
        if not case.emergency:
            return False
        return current_visit(session, case) is None

    def _check_chargeable(
        self, lc: LoadedContract, case: orm.Case, cmd: RequestOnsite | EmergencyOnsite
    ) -> None:
        if cmd.chargeable and cmd.chargeable_reason is None:
            raise InvalidCommand(
                "a chargeable on-site visit needs chargeable_reason (what the customer agreed "
                "to pay for)"
            )
        refusal = onsite_refusal(lc, case.number, case.device_serial, part_swap=cmd.part_swap)
        if refusal is not None and not cmd.chargeable:
            raise NotEntitled(
                f"{refusal}; or record the visit as chargeable by explicit choice "
                "(chargeable: true with chargeable_reason)"
            )

    def _onsite_engineer(
        self, lc: LoadedContract, case: orm.Case, named: str | None, now: datetime
    ) -> tuple[str | None, str]:
        """The named engineer (checked against the staff directory), else the running
        support plan's first known engineer, else the on-duty engineer of the site's zone
        (the rota's ``zones``); None when none applies (the case's engineer goes)."""
        staff = self.staff()
        if named is not None:
            if staff is not None and staff.person(named) is None:
                raise UnknownEngineer(named, staff.file)
            person = staff.person(named) if staff is not None else None
            return (person.id if person is not None else named), "named"
        plan = sla.active_plan(lc, now)
        for engineer in plan.engineers if plan is not None else ():
            if staff is None or staff.person(engineer) is not None:
                return engineer, "support-plan"
        person = staff.zone_duty(now, case.zone) if staff is not None and case.zone else None
        if person is None:
            return None, ""  # no shift of the zone now: the case's own engineer goes
        return person.id, "zone-duty"

    # --- the procedure ---------------------------------------------------------------------

    def onsite_prepared(
        self, number: str, cmd: OnsitePrepare, *, actor: str, now: datetime
    ) -> Receipt:
        def build(_approval: int, _refs: list[AttachmentRef]) -> EventBody:
            return OnsitePrepared(files=list(cmd.files), note=cmd.note)

        return self._step(number, cmd, visits.PREPARED, build, actor, now, "internal")

    def onsite_request_signed(
        self, number: str, cmd: OnsiteSignRequest, *, actor: str, now: datetime
    ) -> Receipt:
        def build(_approval: int, refs: list[AttachmentRef]) -> EventBody:
            return OnsiteRequestSigned(signed_by=cmd.signed_by, note=cmd.note, attachments=refs)

        return self._step(
            number,
            cmd,
            visits.REQUEST_SIGNED,
            build,
            actor,
            now,
            signer=cmd.signed_by,
            attachments=cmd.attachments,
        )

    def onsite_solution_approved(
        self, number: str, cmd: OnsiteApproveSolution, *, actor: str, now: datetime
    ) -> Receipt:
        def build(_approval: int, refs: list[AttachmentRef]) -> EventBody:
            return OnsiteSolutionApproved(
                approved_by=cmd.approved_by,
                solution=cmd.solution,
                carried_out_by=cmd.carried_out_by,
                attachments=refs,
            )

        return self._step(
            number,
            cmd,
            visits.SOLUTION_APPROVED,
            build,
            actor,
            now,
            signer=cmd.approved_by,
            attachments=cmd.attachments,
        )

    def onsite_operation_approved(
        self, number: str, cmd: OnsiteApproveOperation, *, actor: str, now: datetime
    ) -> Receipt:
        def build(_approval: int, refs: list[AttachmentRef]) -> EventBody:
            return OnsiteOperationApproved(
                operation=cmd.operation,
                approved_by=cmd.approved_by,
                description=cmd.description,
                attachments=refs,
            )

        return self._step(
            number,
            cmd,
            visits.OPERATION_APPROVED,
            build,
            actor,
            now,
            signer=cmd.approved_by,
            attachments=cmd.attachments,
        )

    def onsite_operation_performed(
        self, number: str, cmd: OnsitePerformOperation, *, actor: str, now: datetime
    ) -> Receipt:
        def build(approval: int, _refs: list[AttachmentRef]) -> EventBody:
            return OnsiteOperationPerformed(
                operation=cmd.operation, description=cmd.description, approval=approval
            )

        return self._step(
            number,
            cmd,
            visits.OPERATION_PERFORMED,
            build,
            actor,
            now,
            operation=cmd.operation,
        )

    def onsite_report_signed(
        self, number: str, cmd: OnsiteSignReport, *, actor: str, now: datetime
    ) -> Receipt:
        def build(_approval: int, refs: list[AttachmentRef]) -> EventBody:
            return OnsiteReportSigned(
                signed_by=cmd.signed_by, summary=cmd.summary, attachments=refs
            )

        return self._step(
            number,
            cmd,
            visits.REPORT_SIGNED,
            build,
            actor,
            now,
            signer=cmd.signed_by,
            attachments=cmd.attachments,
        )

    def onsite_training_given(
        self, number: str, cmd: OnsiteTraining, *, actor: str, now: datetime
    ) -> Receipt:
        def build(_approval: int, _refs: list[AttachmentRef]) -> EventBody:
            return OnsiteTrainingGiven(topic=cmd.topic, attendees=list(cmd.attendees))

        return self._step(number, cmd, visits.TRAINING_GIVEN, build, actor, now)

    def _step(
        self,
        number: str,
        cmd: OnsitePrepare
        | OnsiteSignRequest
        | OnsiteApproveSolution
        | OnsiteApproveOperation
        | OnsitePerformOperation
        | OnsiteSignReport
        | OnsiteTraining,
        kind: str,
        build: Build,
        actor: str,
        now: datetime,
        visibility: str = "customer",
        *,
        signer: str | None = None,
        operation: str | None = None,
        attachments: Sequence[str] = (),
    ) -> Receipt:
        """Record one step of the current visit, checked for its order and signatory."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, visits.WHAT[kind])
            visit = current_visit(session, case)
            approval = visits.check_step(visit, kind, number=number, operation=operation)
            if signer is not None:
                lc = self._contract(case.contract_id)
                visits.check_signatory(lc.contract, kind, signer, number=number)
            refs = self._attachment_refs(session, case, attachments)
            events.append(
                self._record(session, case, build(approval, refs), actor, now, visibility)
            )
            return self._receipt(session, case, events)

    # --- attachments -----------------------------------------------------------------------

    def attach(
        self,
        number: str,
        data: bytes,
        *,
        name: str | None,
        claimed: str | None,
        actor: str,
        now: datetime,
    ) -> AttachmentRef:
        """Store an uploaded file for the case (size and type checked from its bytes) and
        return its reference; the same file twice is one blob and one row."""
        if self.blobs is None:
            raise BlobStoreError("no attachment store is configured")
        media = check_upload(data, max_bytes=self.attachment_max_bytes, claimed=claimed)
        sha = self.blobs.put(data)
        with self.sessions.begin() as session:
            case = self._load(session, number)
            self._require_open(case, "attach a file")
            row = session.scalars(
                select(orm.CaseAttachment).where(
                    orm.CaseAttachment.case_id == case.id, orm.CaseAttachment.sha256 == sha
                )
            ).one_or_none()
            if row is None:
                row = orm.CaseAttachment(
                    case_id=case.id,
                    sha256=sha,
                    size=len(data),
                    media_type=media,
                    name=_shown_name(name),
                    uploaded_at=now,
                    uploaded_by=actor,
                )
                session.add(row)
            return AttachmentRef(
                sha256=sha, size=row.size, media_type=row.media_type, name=row.name
            )

    def attachment(self, number: str, sha256: str) -> tuple[AttachmentRef, bytes]:
        """A file uploaded to the case and its bytes, checked against the hash and size
        recorded at upload (BlobMissing, BlobCorrupt when the store lost or changed it)."""
        if self.blobs is None:
            raise BlobStoreError("no attachment store is configured")
        with self.sessions() as session:
            case = self._load(session, number)
            (ref,) = self._attachment_refs(session, case, [sha256])
        return ref, read_blob(self.blobs, ref.sha256, ref.size)

    def _attachment_refs(
        self, session: Session, case: orm.Case, hashes: Sequence[str]
    ) -> list[AttachmentRef]:
        if not hashes:
            return []
        rows = {
            row.sha256: row
            for row in session.scalars(
                select(orm.CaseAttachment).where(
                    orm.CaseAttachment.case_id == case.id,
                    orm.CaseAttachment.sha256.in_(list(hashes)),
                )
            )
        }
        missing = [sha for sha in hashes if sha not in rows]
        if missing:
            raise UnknownAttachment(
                f"case {case.number} has no uploaded attachment {', '.join(missing)}: upload "
                "the file to the case first (POST .../attachments), then name its sha256"
            )
        return [
            AttachmentRef(sha256=r.sha256, size=r.size, media_type=r.media_type, name=r.name)
            for r in (rows[sha] for sha in dict.fromkeys(hashes))
        ]


def current_visit(session: Session, case: orm.Case) -> visits.Visit | None:
    """The case's latest visit, read from its on-site events."""
    rows = session.execute(
        select(orm.CaseEvent.seq, orm.CaseEvent.kind, orm.CaseEvent.payload)
        .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind.in_(visits.KINDS))
        .order_by(orm.CaseEvent.seq)
    )
    return visits.current_visit((seq, kind, payload) for seq, kind, payload in rows)


def _shown_name(name: str | None) -> str | None:
    """The uploaded file's name as kept: printable characters only (no NUL, which
    PostgreSQL refuses), at most 200; None when nothing is left."""
    kept = "".join(ch for ch in name or "" if ch.isprintable())[:200]
    return kept or None


def _unpriced(lc: LoadedContract, zone: str, emergency: bool) -> str:
    label = "emergency" if emergency else "normal"
    return (
        f"contract {lc.id}: zone {zone!r} has no negotiated {label} on-site arrival time "
        f"($.onsite.{label}.{zone} is null: 其他地区 双方协商): agree one with the customer "
        "and add it to the contract before dispatching an engineer there"
    )
