"""Device records over HTTP (docs/knowledge.md "Device records"): a device with its history,
and recording a change of model, site, operating environment or software version."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, PathParameter

from api.auth import STAFF, authenticated
from api.cases import PREFIX
from api.deps import PrincipalDep, RuntimeDep
from api.schemas import problem_responses
from core import limits
from core.case import Role
from core.commands import RecordDeviceChange
from core.desk.device_records import DeviceView

RECORDERS = (Role.ADMIN, Role.AGENT, Role.ENGINEER, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)

Serial = Annotated[
    str,
    PathParameter(
        title="serial",
        min_length=1,
        max_length=limits.SERIAL,
        pattern=limits.NO_NUL,
        description="the device's serial number",
    ),
]


class DeviceController(Controller):
    """Devices by serial; every handler delegates to core.desk.device_records."""

    path = f"{PREFIX}/devices"
    tags = ("devices",)
    guards = (authenticated,)

    @get(
        "/{serial:str}",
        operation_id="getDevice",
        sync_to_thread=True,
        opt={"roles": STAFF},
        responses=problem_responses(401, 403, 404),
    )
    def show(self, runtime: RuntimeDep, serial: Serial) -> DeviceView:
        """A device as recorded now (or as its contract lists it), its replacement links and
        its history of changes, oldest first."""
        return runtime.desk.device(serial)

    @post(
        "/{serial:str}/changes",
        operation_id="recordDeviceChange",
        sync_to_thread=True,
        status_code=200,
        opt={"roles": RECORDERS},
        responses=problem_responses(400, 401, 403, 404, 409),
    )
    def record(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        serial: Serial,
        data: JSONBody[RecordDeviceChange],
    ) -> DeviceView:
        """Record the new values given; with `case_number` the change is also an event of
        that case. Values equal to the record's are no change (nothing recorded)."""
        return runtime.desk.record_device_change(
            serial, data, actor=principal.actor, now=runtime.clock()
        )
