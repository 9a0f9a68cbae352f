"""The on-site procedure (R-RESP 现场支持): a visit's steps, their order, who signs them.

A visit is read from the case's history: it begins with an ``onsite_requested`` event (or,
for a case opened as an emergency, with the first arrival) and the engineer is on site from
its ``onsite_arrived``. The steps the handbook names, in its order:

1. ``onsite_prepared``: the engineer read the customer's and the device's files (before going);
2. ``onsite_arrived``: on site (stops the arrival clock; recorded by core.desk.milestones);
3. ``onsite_request_signed``: the on-site service request report, signed by the site lead;
4. ``onsite_solution_approved``: the solution approved by the customer;
5. ``onsite_operation_approved``: a high-impact operation (reinstall, restart, configuration
   change) approved by the customer's maintenance supervisor, then
   ``onsite_operation_performed`` (refused without that approval on this visit);
6. ``onsite_report_signed``: the on-site service report signed by the customer;
7. ``onsite_training_given``: the engineer explained and trained.

``check_step`` says whether a step may be recorded now; it raises the desk's typed refusals.
Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.contract import Contract
from core.desk.errors import ApprovalRequired, StepOutOfOrder, WrongSignatory

REQUESTED = "onsite_requested"
ARRIVED = "onsite_arrived"
PREPARED = "onsite_prepared"
REQUEST_SIGNED = "onsite_request_signed"
SOLUTION_APPROVED = "onsite_solution_approved"
OPERATION_APPROVED = "onsite_operation_approved"
OPERATION_PERFORMED = "onsite_operation_performed"
REPORT_SIGNED = "onsite_report_signed"
TRAINING_GIVEN = "onsite_training_given"

STEPS = (
    PREPARED,
    REQUEST_SIGNED,
    SOLUTION_APPROVED,
    OPERATION_APPROVED,
    OPERATION_PERFORMED,
    REPORT_SIGNED,
    TRAINING_GIVEN,
)
KINDS = (REQUESTED, ARRIVED, *STEPS)
"""Every event kind a visit is read from."""

HIGH_IMPACT = ("reinstall", "restart", "configuration_change")

# who signs what, by the contract's contact roles (core.contract.Contact.role); a step not
# named here may be signed by anyone of the customer's
SIGNATORY_ROLE = {
    REQUEST_SIGNED: "site-lead",
    OPERATION_APPROVED: "maintenance-supervisor",
}
WHAT = {
    PREPARED: "record the preparation",
    REQUEST_SIGNED: "record the signed on-site service request",
    SOLUTION_APPROVED: "record the customer's approval of the solution",
    OPERATION_APPROVED: "record the approval of a high-impact operation",
    OPERATION_PERFORMED: "record a high-impact operation",
    REPORT_SIGNED: "record the signed on-site service report",
    TRAINING_GIVEN: "record the explanation or training",
}


@dataclass
class Visit:
    """The case's current (latest) visit as its history tells it."""

    started: int | None = None  # seq of its onsite_requested (None: an emergency opening)
    emergency: bool = False
    chargeable: bool = False
    engineer: str | None = None
    arrived: int | None = None  # seq of its arrival
    steps: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    def has(self, kind: str) -> bool:
        return any(k == kind for _, k, _ in self.steps)

    def open_approval(self, operation: str) -> int | None:
        """The seq of an approval of ``operation`` on this visit not yet used by a performed
        operation (each approval covers one operation), or None."""
        used = {p.get("approval") for _, k, p in self.steps if k == OPERATION_PERFORMED}
        for seq, kind, payload in self.steps:
            approves = kind == OPERATION_APPROVED and payload.get("operation") == operation
            if approves and seq not in used:
                return seq
        return None


def current_visit(events: Iterable[tuple[int, str, dict[str, Any]]]) -> Visit | None:
    """The latest visit from the case's on-site events ``(seq, kind, payload)`` in order;
    None when the case never had one."""
    visit: Visit | None = None
    for seq, kind, payload in events:
        if kind == REQUESTED:
            visit = Visit(
                started=seq,
                emergency=bool(payload.get("emergency", False)),
                chargeable=bool(payload.get("chargeable", False)),
                engineer=payload.get("engineer"),
            )
        elif kind == ARRIVED:
            if visit is None or visit.arrived is not None:
                visit = Visit(emergency=visit.emergency if visit else True)
            visit.arrived = seq
        elif kind in STEPS:
            if visit is None:
                visit = Visit()
            visit.steps.append((seq, kind, payload))
    return visit


def check_step(visit: Visit | None, kind: str, *, number: str, operation: str | None = None) -> int:
    """Refuse a step out of order; for a performed operation, the seq of its approval
    (else 0). Raises StepOutOfOrder (409) or ApprovalRequired (409)."""
    what = WHAT[kind]
    if visit is None:
        raise StepOutOfOrder(
            f"case {number} has no on-site visit: cannot {what} (file an on-site request, or "
            "dispatch an emergency, first)"
        )
    if kind == PREPARED:
        if visit.arrived is not None:
            raise StepOutOfOrder(
                f"case {number}: the engineer is already on site: preparation (reading the "
                "customer's and the device's files) is recorded before the arrival"
            )
        return 0
    if visit.arrived is None:
        raise StepOutOfOrder(f"case {number}: the engineer has not arrived on site: cannot {what}")
    if kind in (REQUEST_SIGNED, REPORT_SIGNED) and visit.has(kind):
        raise StepOutOfOrder(f"case {number}: this visit already has it: cannot {what} twice")
    if kind == SOLUTION_APPROVED and not visit.has(REQUEST_SIGNED):
        raise StepOutOfOrder(
            f"case {number}: the site lead has not signed the on-site service request: "
            f"cannot {what} before it"
        )
    if kind == OPERATION_PERFORMED:
        assert operation is not None
        approval = visit.open_approval(operation)
        if approval is None:
            raise ApprovalRequired(
                f"case {number}: a {operation.replace('_', ' ')} has a large impact and needs "
                "the approval of the customer's maintenance supervisor (现场维护主管批准) on "
                "this visit first: record it (onsite/operation-approved), then the operation"
            )
        return approval
    return 0


def check_signatory(contract: Contract, kind: str, name: str, *, number: str) -> None:
    """A step the handbook gives to a role (site lead, maintenance supervisor) must be signed
    by a contact of that role when the contract lists any; otherwise any name is recorded."""
    role = SIGNATORY_ROLE.get(kind)
    if role is None:
        return
    listed = [c.name for c in contract.customer.contacts if c.role == role]
    if not listed or name in listed:
        return
    raise WrongSignatory(
        f"case {number}: {name!r} is not the customer's {role.replace('-', ' ')} in contract "
        f"{contract.id} ($.customer.contacts lists: {', '.join(listed)}): cannot {WHAT[kind]}"
    )
