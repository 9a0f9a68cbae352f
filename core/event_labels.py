"""What people read for an event kind: one label in Chinese and one in English per kind.

The one vocabulary of event names shown to people: the customer reports (bilingual, Chinese
first: ``bilingual``) and the web pages (the page's language: ``label``) both read it.
``tests/test_event_labels.py`` fails when a kind in ``core.events.BODIES`` has no label here
(or a label names no kind). A kind unknown to this code (an old or foreign history) shows as
itself. Pure: the standard library only.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LABELS", "EventLabel", "bilingual", "label"]


class EventLabel(NamedTuple):
    zh: str
    en: str


_ = EventLabel
LABELS: dict[str, EventLabel] = {
    "opened": _("受理", "Case opened"),
    "clocks_unplanned": _("时钟待排（缺节假日数据）", "Clocks awaiting holiday data"),
    "assigned": _("指派工程师", "Engineer assigned"),
    "first_response": _("首次响应", "First response"),
    "diagnosis_confirmed": _("确认诊断", "Diagnosis confirmed"),
    "note": _("备注", "Note"),
    "call": _("电话记录", "Call logged"),
    "priority_changed": _("优先级变更", "Priority changed"),
    "status_changed": _("状态变更", "Status changed"),
    "clock_excluded": _("时钟免责", "Clock excluded"),
    "clocks_replanned": _("时钟重新计划", "Clocks replanned"),
    "escalated": _("升级", "Escalated"),
    "handed_over": _("转交其他支持级别", "Handed over"),
    "rma_status": _("备件状态", "Spare part status"),
    "rma_updated": _("返修单更新", "RMA updated"),
    "remote_logged_in": _("远程登录", "Remote login"),
    "onsite_arrived": _("工程师到场", "Engineer on site"),
    "progress_reported": _("进展通报", "Progress reported"),
    "remote_access_agreed": _("同意远程接入", "Remote access agreed"),
    "credentials_viewed": _("查看登录凭据", "Credentials viewed"),
    "onsite_requested": _("安排现场服务", "On-site visit arranged"),
    "onsite_prepared": _("现场服务准备", "On-site visit prepared"),
    "onsite_request_signed": _("现场服务申请签署", "On-site request signed"),
    "onsite_solution_approved": _("现场方案批准", "On-site solution approved"),
    "onsite_operation_approved": _("现场操作批准", "On-site operation approved"),
    "onsite_operation_performed": _("现场操作完成", "On-site operation performed"),
    "onsite_report_signed": _("现场服务报告签署", "On-site report signed"),
    "onsite_training_given": _("现场培训", "On-site training given"),
    "spare_requested": _("申请备件", "Spare part requested"),
    "spare_step": _("备件进度", "Spare part step"),
    "spare_vendor_case": _("关联厂商案件", "Vendor case linked"),
    "device_changed": _("设备记录变更", "Device record changed"),
    "resolved": _("已解决", "Resolved"),
    "closed": _("已关闭", "Closed"),
    "reopened": _("重新打开", "Reopened"),
    "inspection_opened": _("巡检开始", "Inspection opened"),
    "inspection_result": _("巡检结果", "Inspection result"),
    "inspection_reported": _("巡检报告", "Inspection reported"),
    "follow_up_of": _("巡检后续案件", "Inspection follow-up"),
    "change_proposed": _("变更提出", "Change proposed"),
    "change_reviewed": _("变更评审", "Change reviewed"),
    "change_implemented": _("变更实施", "Change implemented"),
    "notification_retried": _("通知重发", "Notification retried"),
    "survey_answered": _("满意度回访", "Survey answered"),
    "survey_problem_opened": _("回访问题登记", "Survey problem opened"),
    "survey_problem_classified": _("回访问题分类", "Survey problem classified"),
    "survey_problem_closed": _("回访问题关闭", "Survey problem closed"),
    "corrective_action": _("纠正措施", "Corrective action"),
    "corrective_action_done": _("纠正措施完成", "Corrective action done"),
    "improvement_reported": _("改进结果通报", "Improvement reported"),
    "complaint_filed": _("投诉受理", "Complaint filed"),
    "complaint_linked": _("关联投诉", "Complaint linked"),
    "complaint_replied": _("投诉答复", "Complaint replied"),
    "complaint_assigned": _("投诉指派", "Complaint assigned"),
    "complaint_investigated": _("投诉调查", "Complaint investigated"),
    "complaint_resolved": _("投诉解决", "Complaint resolved"),
    "complaint_closed": _("投诉关闭", "Complaint closed"),
}
del _


def label(kind: str, lang: str) -> str:
    """The kind's label in ``lang`` (``zh``; anything else: English); the kind itself when
    this code has no label for it."""
    found = LABELS.get(kind)
    if found is None:
        return kind
    return found.zh if lang == "zh" else found.en


def bilingual(kind: str) -> str:
    """``首次响应 First response``: Chinese first, as the reports title everything."""
    found = LABELS.get(kind)
    return kind if found is None else f"{found.zh} {found.en}"
