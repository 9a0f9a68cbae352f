"""Spare-part requests (R-SPARE): the steps, the delivery modes and which step may follow which.

Pure vocabulary and rules; the desk (``core.desk.spares``) records them. A request goes
requested → (rma_opened) → shipped → arrived → installed → part_returned (engineer or courier)
or standby_returned (a standby unit, 备机). ``rma_opened`` may come at any point before the
installation (we open the vendor RMA, or the customer's own TAC case is linked).
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import ClientError

__all__ = [
    "PRICE_BASIS",
    "RETURN_CLOCK",
    "RETURN_CLOCKS",
    "DeliveryMode",
    "SpareStep",
    "SpareStepRefused",
    "check_step",
]


class SpareStep(StrEnum):
    """One step of a spare-part request; each is a ``spare_step`` event (``requested``: the
    ``spare_requested`` event)."""

    REQUESTED = "requested"
    RMA_OPENED = "rma_opened"  # the vendor RMA (case number) is open
    SHIPPED = "shipped"  # carrier and waybill; stops the ship clock
    ARRIVED = "arrived"  # at the customer's site; stops the arrival clock
    INSTALLED = "installed"  # swapped in (a new serial: a new device record); return clock
    PART_RETURNED = "part_returned"  # the faulty part went back
    STANDBY_RETURNED = "standby_returned"  # the standby unit went back


class DeliveryMode(StrEnum):
    """How the part reaches the site (铭升维保: "现场工程师+备件", 快速备件, 备机的到门递送)."""

    ENGINEER = "engineer"  # an engineer brings the part and swaps it (on-site labour)
    COURIER = "courier"  # delivered to the door
    STANDBY = "standby"  # a standby unit (备机) stands in, and goes back afterwards


PRICE_BASIS = "standard"
"""An emergency spare for a device without a contract: the standard price, no emergency
surcharge (R-EXTRA 备件紧急响应: "按铭升电子服务标准收取,不收取额外的紧急响应费用")."""

RETURN_CLOCK: dict[DeliveryMode, str] = {
    DeliveryMode.ENGINEER: "part_return",
    DeliveryMode.COURIER: "part_return",
    DeliveryMode.STANDBY: "standby_return",
}
"""The clock the installation starts, by delivery mode."""

RETURN_CLOCKS = frozenset(RETURN_CLOCK.values())
"""Clocks that outlive the case's resolution: the part or unit may go back after the fault is
fixed, and its reminders still matter."""

# the step each step needs before it (None: only the request)
_AFTER: dict[SpareStep, SpareStep | None] = {
    SpareStep.RMA_OPENED: None,
    SpareStep.SHIPPED: None,
    SpareStep.ARRIVED: SpareStep.SHIPPED,
    SpareStep.INSTALLED: SpareStep.ARRIVED,
    SpareStep.PART_RETURNED: SpareStep.INSTALLED,
    SpareStep.STANDBY_RETURNED: SpareStep.INSTALLED,
}


class SpareStepRefused(ClientError):
    """A spare-part step that does not fit the request's steps so far (twice, out of order,
    or not of its delivery mode); nothing recorded."""

    title = "spare step refused"


def check_step(
    request: int, done: frozenset[SpareStep], step: SpareStep, mode: DeliveryMode
) -> None:
    """Refuse ``step`` on request ``request`` whose steps so far are ``done``."""
    if step == SpareStep.REQUESTED:
        raise SpareStepRefused(f"spare request {request} is already requested")
    if step in done:
        raise SpareStepRefused(f"spare request {request}: {step} is already recorded")
    if step == SpareStep.RMA_OPENED and SpareStep.INSTALLED in done:
        raise SpareStepRefused(f"spare request {request}: the part is installed, no RMA to open")
    wrong = {
        SpareStep.PART_RETURNED: mode == DeliveryMode.STANDBY,
        SpareStep.STANDBY_RETURNED: mode != DeliveryMode.STANDBY,
    }
    if wrong.get(step, False):
        raise SpareStepRefused(
            f"spare request {request} is delivered by {mode}: {step} is not one of its steps"
        )
    needed = _AFTER[step]
    if needed is not None and needed not in done:
        raise SpareStepRefused(
            f"spare request {request}: {step} needs {needed} first "
            f"(recorded: {', '.join(sorted(done)) or 'requested only'})"
        )
