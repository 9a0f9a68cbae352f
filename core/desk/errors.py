"""The desk's refusals: each means nothing was recorded."""

from __future__ import annotations

from core.errors import ClientError, ConflictError


class InvalidCommand(ClientError):
    """A command whose content does not fit the case or its contract; nothing recorded."""

    title = "invalid command"


class OutsideContract(ClientError):
    """A case opened under a contract whose period does not cover the day it is opened,
    without the agent saying it is out of contract (``out_of_contract``); nothing recorded."""

    title = "outside the contract period"


class NotEntitled(ClientError):
    """The contract did not buy what the command asks (on-site labour, a spare level, remote
    access without consent); ``detail`` names the contract and its clause; nothing recorded."""

    title = "not entitled"


class UnknownEngineer(InvalidCommand):
    """An assignment naming someone the staff directory does not know."""

    title = "unknown engineer"

    def __init__(self, name: str, directory: str) -> None:
        super().__init__(
            f"{name!r} is not in the staff directory: assign a person listed there ({directory}), "
            "by id or by name"
        )
        self.name = name


class CloseRefused(ClientError):
    """The customer's confirmation lacks checklist items or deliverable documents."""

    title = "close refused"

    def __init__(self, number: str, items: list[str], documents: list[str]) -> None:
        parts = []
        if items:
            parts.append(f"unconfirmed checklist items: {', '.join(items)}")
        if documents:
            parts.append(f"missing deliverables: {', '.join(documents)}")
        super().__init__(f"case {number} cannot close: {'; '.join(parts)}")
        self.items = items
        self.documents = documents


class IdempotencyMismatch(ClientError):
    """An Idempotency-Key reused with a different request body."""

    title = "idempotency key reused"


class RemoteSupportFirst(ClientError):
    """A normal on-site request on a case that records no phone or remote attempt, without
    an ``override_reason`` (the handbook: on-site only for what phone and remote access
    could not fix); nothing recorded."""

    title = "phone and remote support first"


class StepOutOfOrder(ClientError):
    """An on-site step the visit is not ready for (a report before the arrival, a signature
    with no visit under way); nothing recorded."""

    title = "on-site step out of order"


class ApprovalRequired(ClientError):
    """A high-impact operation (reinstall, restart, configuration change) without the
    customer's maintenance supervisor's approval on this visit; nothing recorded."""

    title = "approval required"


class WrongSignatory(InvalidCommand):
    """A signature or approval by someone the contract does not list in that role (site
    lead, maintenance supervisor) when it lists people in it; nothing recorded."""

    title = "wrong signatory"


class ChangeNotApproved(ConflictError):
    """A major change carried out (or reviewed twice) before or without the expert group's
    approval (专家审核评估制度); nothing recorded."""

    title = "change not approved"


class InspectionIncomplete(ConflictError):
    """An inspection report while devices of the inspection have no result yet; nothing
    recorded."""

    title = "inspection incomplete"


class NoticeTooShort(ConflictError):
    """A hotline or contact change announced less than the required days ahead, without
    ``force`` and its reason; nothing recorded or sent."""

    title = "notice too short"
