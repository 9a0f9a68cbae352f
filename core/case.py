"""The case aggregate's vocabulary: statuses and their transitions, categories, channels."""

from __future__ import annotations

from enum import StrEnum

from core.errors import ClientError


class IllegalTransition(ClientError):
    """A command that the case's current status does not allow; nothing was recorded."""

    title = "illegal transition"

    def __init__(self, case: str, status: str, action: str, allowed: tuple[str, ...] = ()) -> None:
        hint = f" (from {status}: {', '.join(allowed)})" if allowed else ""
        super().__init__(f"case {case} is {status}: cannot {action}{hint}")
        self.status = status
        self.action = action


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    PENDING_VENDOR = "pending_vendor"
    RESOLVED = "resolved"
    CLOSED = "closed"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.RESOLVED}),
    S.PENDING_CUSTOMER: frozenset({S.IN_PROGRESS, S.PENDING_VENDOR, S.RESOLVED}),
    S.PENDING_VENDOR: frozenset({S.IN_PROGRESS, S.PENDING_CUSTOMER, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # in_progress: reopen
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopen
}
"""Status → statuses it may move to. Resolve and close have their own commands; reopen is
resolved/closed → in_progress."""

OPEN_STATUSES = frozenset(set(Status) - {S.RESOLVED, S.CLOSED})


def check_transition(number: str, current: str, target: str, action: str) -> Status:
    """The target status if the move is legal, else IllegalTransition (nothing recorded)."""
    now, to = Status(current), Status(target)
    if to not in TRANSITIONS[now]:
        allowed = tuple(sorted(s.value for s in TRANSITIONS[now]))
        raise IllegalTransition(number, now.value, action, allowed)
    return to


class Category(StrEnum):
    """The 13 service types of the handbook (R-CAT)."""

    INSTALLATION = "installation"  # 安装
    WARRANTY_RENEWAL = "warranty_renewal"  # 续保
    CONSULTING = "consulting"  # 咨询
    REQUIREMENTS_ANALYSIS = "requirements_analysis"  # 需求分析
    SOLUTION_DESIGN = "solution_design"  # 方案设计
    BID_GUIDANCE = "bid_guidance"  # 投标指导
    BID_WRITING = "bid_writing"  # 标书编写
    CONTRACT_WRITING = "contract_writing"  # 合同编写
    SYSTEM_DEBUGGING = "system_debugging"  # 系统调试
    PERIODIC_INSPECTION = "periodic_inspection"  # 定期巡检
    PROJECT_ASSISTANT = "project_assistant"  # 项目助理
    FAULT_RESCUE = "fault_rescue"  # 故障救援
    TECHNICAL_TRAINING = "technical_training"  # 技术培训


APPOINTMENT_CATEGORIES = frozenset(
    {
        Category.INSTALLATION,
        Category.PERIODIC_INSPECTION,
        Category.PROJECT_ASSISTANT,
        Category.FAULT_RESCUE,
    }
)
"""Services run "at the customer-agreed time and scope": an appointment window is required."""


class RequestType(StrEnum):
    """咨询、问题申报、投诉."""

    CONSULTATION = "consultation"
    PROBLEM_REPORT = "problem_report"
    COMPLAINT = "complaint"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    FAX = "fax"
    WEB = "web"
    REMOTE = "remote"


class Visibility(StrEnum):
    INTERNAL = "internal"
    CUSTOMER = "customer"


PRIORITIES = ("P1", "P2", "P3", "P4")
