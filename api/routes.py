"""Every /api/v1 route handler, in one list for the app factory."""

from __future__ import annotations

from typing import Any

from api.cases import CaseController, customer_cases
from api.contracts import check_upload, list_contracts, reload_contracts, show_contract
from api.devices import DeviceController
from api.documents import get_document
from api.knowledge import KnowledgeController, RelatedFixesController
from api.maintenance import MaintenanceController, announce, list_notices, list_plans
from api.notifications import NotificationController
from api.onsite import OnsiteController
from api.quality import QUALITY_ROUTES
from api.queues import QueueController
from api.reports import get_report
from api.rma import RmaController
from api.spares import SpareController

API_ROUTES: list[Any] = [
    CaseController,
    OnsiteController,
    customer_cases,
    list_contracts,
    show_contract,
    check_upload,
    reload_contracts,
    NotificationController,
    SpareController,
    RmaController,
    QueueController,
    *QUALITY_ROUTES,
    get_report,
    get_document,
    KnowledgeController,
    RelatedFixesController,
    DeviceController,
    MaintenanceController,
    list_plans,
    announce,
    list_notices,
]
