"""Vendor RMA endpoints on a case: list, open, record the vendor's answer, cancel.

Staff see the whole order (its key, failures, last error); a customer token sees its own
cases' RMAs as ``RmaCustomerView``: state, vendor case, carrier, waybill and promise only.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import JSONBody, PathParameter

from api.auth import EVERYONE, authenticated
from api.cases import (
    MILESTONES,
    PREFIX,
    CaseNumber,
    IdempotencyKey,
    case_access,
    case_roles,
)
from api.deps import PrincipalDep, RuntimeDep
from api.schemas import problem_responses
from core.limits import MAX_ID
from core.rma import CancelRma, OpenRma, RmaCustomerView, RmaEntry, RmaView
from core.store.tokens import Principal

RmaId = Annotated[int, PathParameter(title="RMA id", ge=1, le=MAX_ID, description="`id` of an RMA")]
RMA_ERRORS = problem_responses(400, 401, 403, 404, 409, 422, 503)


def _shown(view: RmaView, principal: Principal) -> RmaView | RmaCustomerView:
    return RmaCustomerView.of(view) if principal.is_customer else view


class RmaController(Controller):
    """A case's vendor RMAs (core.desk.rma)."""

    path = f"{PREFIX}/cases/{{number:str}}/rmas"
    tags = ("rma",)
    guards = (authenticated, case_access)

    @get(
        "/",
        operation_id="listRmas",
        sync_to_thread=True,
        opt=case_roles(*EVERYONE),
        responses=problem_responses(401, 404),
    )
    def list_rmas(
        self, runtime: RuntimeDep, principal: PrincipalDep, number: CaseNumber
    ) -> list[Any]:
        """The case's RMAs, oldest first (customers: state, vendor case, carrier, waybill)."""
        return [_shown(v, principal) for v in runtime.desk.list_rmas(number)]

    @post(
        "/",
        operation_id="openRma",
        sync_to_thread=True,
        status_code=201,
        opt=case_roles(*MILESTONES),
        responses=RMA_ERRORS,
    )
    def open_rma(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        number: CaseNumber,
        data: JSONBody[OpenRma],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RmaView]:
        """Open an RMA for a device of the case through the device's channel.

        The key (the Idempotency-Key header, else `idempotency_key`) is stored before the
        vendor is asked: a retry answers the same RMA. A vendor outage leaves it `pending`
        with its retry planned (the scheduler asks again with the same key).
        """
        if idempotency_key is not None:
            data = OpenRma(**{**_fields(data), "idempotency_key": idempotency_key})
        view = runtime.desk.open_rma(number, data, actor=principal.actor, now=runtime.clock())
        return Response(
            view, status_code=201, headers={"Location": f"{PREFIX}/cases/{number}/rmas"}
        )

    @post(
        "/{rma_id:int}/updates",
        operation_id="recordRmaUpdate",
        sync_to_thread=True,
        status_code=200,
        opt=case_roles(*MILESTONES),
        responses=RMA_ERRORS,
    )
    def update_rma(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        number: CaseNumber,
        rma_id: RmaId,
        data: JSONBody[RmaEntry],
    ) -> RmaView:
        """Record what the vendor said (state, vendor case, carrier, waybill, stock)."""
        return runtime.desk.update_rma(
            number, rma_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{rma_id:int}/cancel",
        operation_id="cancelRma",
        sync_to_thread=True,
        status_code=200,
        opt=case_roles(*MILESTONES),
        responses=RMA_ERRORS,
    )
    def cancel_rma(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        number: CaseNumber,
        rma_id: RmaId,
        data: JSONBody[CancelRma],
    ) -> RmaView:
        """Withdraw the RMA at the vendor."""
        return runtime.desk.cancel_rma(
            number, rma_id, data, actor=principal.actor, now=runtime.clock()
        )


def _fields(data: OpenRma) -> dict[str, Any]:
    return {name: getattr(data, name) for name in data.__struct_fields__}
