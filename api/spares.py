"""Spare-part requests on a case (R-SPARE): request a part, record its steps, link the
customer's own vendor case, list the requests. Commands answer the case like every
lifecycle command (``api.cases.command``)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import JSONBody

from api.auth import EVERYONE, authenticated, customer_scope
from api.cases import PREFIX, CaseNumber, _apply, case_access, case_roles, command
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.schemas import problem_responses
from core.case import Role
from core.commands import LinkVendorCase, RecordSpareStep, RequestSpare
from core.desk import CaseDesk
from core.store.queries import CaseDetail
from core.store.spares import SpareRequestView, spare_requests

# the customer service representative (the agent) takes the request and relays the logistics
# side's steps, the engineer diagnoses and installs, the service manager oversees (R-SPARE
# 备件支持人员架构); the spare manager has no token role of its own: it uses an agent token
SPARE_REQUESTERS = (Role.AGENT, Role.ENGINEER, Role.SERVICE_MANAGER)
SPARE_STEPPERS = (Role.AGENT, Role.ENGINEER, Role.SERVICE_MANAGER)


class SpareController(Controller):
    """A case's spare-part requests; every handler delegates to core.desk.spares."""

    path = f"{PREFIX}/cases"
    tags = ("cases",)
    guards = (authenticated,)

    @get(
        "/{number:str}/spares",
        operation_id="listSpareRequests",
        sync_to_thread=True,
        guards=[case_access],
        opt=case_roles(*EVERYONE),
        responses=problem_responses(401, 404),
    )
    def list_spares(
        self, principal: PrincipalDep, session: SessionDep, number: CaseNumber
    ) -> list[SpareRequestView]:
        """The case's spare requests with their steps and clocks (customers: their own cases;
        internal notes are never part of a request)."""
        return spare_requests(session, number, customer_id=customer_scope(principal))

    @command("spares", "requestSpare", SPARE_REQUESTERS)
    def request_spare(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[RequestSpare],
    ) -> CaseDetail:
        """Request a spare part for a device on the case: its tier's ship and arrival clocks
        run (those the hardware diagnosis planned, when there are). 422 naming the clause when
        the level is not sold in the case's zone, when an engineer would swap it without
        bought on-site labour, or when no contract covers the device and `chargeable` is not
        true (an emergency spare: standard price, no surcharge)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.request_spare)

    @command("spares/steps", "recordSpareStep", SPARE_STEPPERS)
    def spare_step(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[RecordSpareStep],
    ) -> CaseDetail:
        """Record one step of a spare request (rma_opened, shipped, arrived, installed,
        part_returned, standby_returned); 409 when it is out of order or recorded already."""
        return _apply(runtime, principal, session, number, data, CaseDesk.spare_step)

    @command("spares/vendor-case", "linkVendorCase", SPARE_STEPPERS)
    def vendor_case(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[LinkVendorCase],
    ) -> CaseDetail:
        """The customer reported the fault to the vendor's TAC itself: link its case number
        to the spare request."""
        return _apply(runtime, principal, session, number, data, CaseDesk.link_vendor_case)
