"""The case aggregate's vocabulary: statuses and their transitions, categories, channels,
priorities, roles and notification states."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

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
    WECHAT = "wechat"  # 微信 / 企业微信 (WeChat, WeCom): how many customers reach the desk
    SCHEDULED = "scheduled"  # opened by casetrack itself: a maintenance plan's inspection


class Visibility(StrEnum):
    INTERNAL = "internal"
    CUSTOMER = "customer"


class Priority(StrEnum):
    """A case's priority, P1 (most urgent) to P4; it picks the contract's targets and ladder."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


PRIORITIES: tuple[Priority, ...] = tuple(Priority)


class Role(StrEnum):
    """Who someone is to casetrack: an API token's roles, a staff member's, whom an escalation
    step notifies.

    The value is the spelling of the YAML files, the history and the outbox (kebab-case:
    ``service-manager``). API tokens spell a role in snake_case (``service_manager``): the
    same words with ``_`` for ``-`` (``Role.snake``, ``Role.from_snake``), as the token rows
    store them and ``casetrack tokens create --role`` and the API's messages show them.
    """

    AGENT = "agent"
    ADMIN = "admin"
    CUSTOMER = "customer"
    ENGINEER = "engineer"
    SERVICE_MANAGER = "service-manager"
    PROJECT_MANAGER = "project-manager"
    COMPLAINT_MANAGER = "complaint-manager"
    SPARE_MANAGER = "spare-manager"
    QUALITY_DEPARTMENT = "quality-department"
    GENERAL_MANAGER = "general-manager"
    EXPERT_GROUP = "expert-group"
    CUSTOMER_SITE_LEAD = "customer-site-lead"
    CUSTOMER_MAINTENANCE_SUPERVISOR = "customer-maintenance-supervisor"

    @property
    def snake(self) -> str:
        """The snake_case spelling: an API token's role (and, for the contract's managers,
        the ``OurStaff`` field naming them)."""
        return self.value.replace("-", "_")

    @classmethod
    def from_snake(cls, name: str) -> Role:
        """The role an API token names (``service_manager``); a Role is returned as is.
        ValueError for anything else (a kebab spelling included)."""
        if isinstance(name, Role):
            return name
        if "-" not in name:
            try:
                return cls(name.replace("_", "-"))
            except ValueError:
                pass
        raise ValueError(f"{name!r} is not a role")


# What the YAML files may name. msgspec validates a file against a Literal (it has no enum
# subsets), so the files' two role lists are Literals of Role values; the frozensets below
# turn them into Roles at import, which fails on any value that is not a Role.
StaffRoleName = Literal[
    "engineer",
    "service-manager",
    "project-manager",
    "complaint-manager",
    "spare-manager",
    "quality-department",
    "general-manager",
    "expert-group",
]
"""A role in the staff directory (contracts/staff/staff.yaml)."""
NotifyRoleName = Literal[
    "engineer",
    "service-manager",
    "project-manager",
    "complaint-manager",
    "spare-manager",
    "quality-department",
    "general-manager",
    "expert-group",
    "customer-site-lead",
    "customer-maintenance-supervisor",
]
"""A role a contract's escalation step notifies: the directory's, or a customer contact's."""

STAFF_ROLES: tuple[Role, ...] = tuple(Role(name) for name in get_args(StaffRoleName))
NOTIFY_ROLES: tuple[Role, ...] = tuple(Role(name) for name in get_args(NotifyRoleName))
TOKEN_ROLES: tuple[Role, ...] = (
    Role.AGENT,
    Role.ENGINEER,
    Role.SERVICE_MANAGER,
    Role.PROJECT_MANAGER,
    Role.COMPLAINT_MANAGER,
    Role.QUALITY_DEPARTMENT,
    Role.ADMIN,
    Role.CUSTOMER,
    Role.EXPERT_GROUP,
)
"""The roles an API token may carry (in the order `casetrack tokens create` lists them)."""


class NotificationState(StrEnum):
    """Where a notification is: ``queued`` → ``sending`` (handed to a worker) → ``sent``,
    ``failed`` (refused for good), ``dead`` (transient failures until the last attempt) or
    ``dropped`` (stale when it was to go out)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    DROPPED = "dropped"
