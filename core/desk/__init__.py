"""The case desk: every case command as one transaction that validates, then records events.

One room a concern, each a mixin over ``DeskBase`` (``base``: transaction unit, recording,
clocks): ``opening``, ``work``, ``milestones``, ``onsite`` (its rules: ``visits``),
``handover``, ``spares`` (with ``devices``), ``rma`` (vendor RMAs), ``closing`` (with
``surveys`` and ``knowledge``), ``complaints`` (with ``corrective``), ``device_records``,
``horizon``, ``maintenance`` (inspections of maintenance plans), ``changes`` (major change
review), ``notices`` (hotline and contact change notices);
the refusals are in ``errors``.
"""

from __future__ import annotations

from core.desk.base import DeskBase, Receipt
from core.desk.changes import ChangeCommands
from core.desk.closing import STOP_ON_RESOLVE, ClosingCommands
from core.desk.device_records import DeviceRecordCommands
from core.desk.errors import (
    ApprovalRequired,
    CloseRefused,
    IdempotencyMismatch,
    InvalidCommand,
    NotEntitled,
    OutsideContract,
    RemoteSupportFirst,
    StepOutOfOrder,
    UnknownEngineer,
    WrongSignatory,
)
from core.desk.handover import HandOverCommands
from core.desk.horizon import HorizonCommands
from core.desk.maintenance import MaintenanceCommands
from core.desk.milestones import MilestoneCommands
from core.desk.notices import NoticeCommands
from core.desk.onsite import OnsiteCommands
from core.desk.opening import OpenCommands
from core.desk.rma import RmaCommands
from core.desk.spares import SpareCommands
from core.desk.work import PAUSED_BY_CUSTOMER, PRIORITY_CLOCKS, WorkCommands

__all__ = [
    "PAUSED_BY_CUSTOMER",
    "PRIORITY_CLOCKS",
    "STOP_ON_RESOLVE",
    "ApprovalRequired",
    "CaseDesk",
    "CloseRefused",
    "DeskBase",
    "IdempotencyMismatch",
    "InvalidCommand",
    "NotEntitled",
    "OutsideContract",
    "Receipt",
    "RemoteSupportFirst",
    "StepOutOfOrder",
    "UnknownEngineer",
    "WrongSignatory",
]


class CaseDesk(
    MaintenanceCommands,  # before OpenCommands and OnsiteCommands, which it builds on
    ChangeCommands,
    NoticeCommands,
    # before OnsiteCommands: closing's surveys and opening's complaints share CorrectiveRoom,
    # which the maintenance room (opening + on-site) places before OnsiteCommands
    ClosingCommands,  # with KnowledgeCommands: resolving writes the case's knowledge entry
    OpenCommands,
    WorkCommands,
    MilestoneCommands,
    OnsiteCommands,
    HandOverCommands,
    RmaCommands,  # before SpareCommands: an RMA order records its spare request's steps
    SpareCommands,
    DeviceRecordCommands,
    HorizonCommands,
):
    """Case commands over a database; each public method is one transaction.

    ``now`` is always passed in (time is injected); all stored times are UTC.
    """
