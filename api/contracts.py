"""Contracts over HTTP: list and show the loaded ones, check an upload, reload from disk."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, QueryParameter, RawBody

from api.auth import EVERYONE, STAFF, authenticated, customer_scope
from api.deps import PrincipalDep, RuntimeDep
from api.schemas import problem_responses
from core.case import Role
from core.contract import Contract, Person
from core.errors import ContractError, NotFoundError
from core.loaded import ContractSet, LoadedContract
from core.sources.contracts import (
    CONTRACT_SUFFIXES,
    TIERS_FILES,
    check_contracts,
    relative_problems,
)
from core.sources.uploads import check_uploads
from core.store.queries import mask_email, mask_mobile

CHECKERS = (Role.ADMIN, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)
RELOADERS = (Role.ADMIN,)
YAML_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
)
DEFAULT_UPLOAD_NAME = "upload.yaml"
UploadName = Annotated[
    str,
    QueryParameter(
        description="file name the errors give a single YAML upload (default upload.yaml)",
        max_length=200,
    ),
]
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# reloads are rare; serialising them keeps a slow older load from swapping in last
_RELOAD_LOCK = threading.Lock()


# --- bodies ------------------------------------------------------------------------------------


class CheckFiles(msgspec.Struct, forbid_unknown_fields=True):
    """JSON body of a check with several files: ``{"files": {"a.yaml": "<yaml text>"}}``."""

    files: dict[str, str]


class CustomerRef(msgspec.Struct, kw_only=True):
    id: str
    name: str


class PeriodView(msgspec.Struct, kw_only=True):
    start: date
    end: date


class ContractSummary(msgspec.Struct, kw_only=True):
    """One loaded contract in a list."""

    id: str
    customer: CustomerRef
    program: str
    period: PeriodView
    devices: int
    file: str  # the file name in the contracts directory (or of the upload)


class ContractList(msgspec.Struct, kw_only=True):
    items: list[ContractSummary]


class ContractDetail(msgspec.Struct, kw_only=True):
    """A contract as loaded, beside what its devices and sites resolve against."""

    id: str
    file: str
    # nested: the contract has a `zones` key of its own (the resolver settings)
    contract: Contract
    tiers: list[str]  # the tiers its devices are on
    program_tiers: list[str]  # the tiers its program offers
    zones: list[str]  # the zone ids its zone resolver can return


class CheckSummary(msgspec.Struct, kw_only=True):
    contracts: int
    devices: int
    tiers: int
    programs: int
    checked: list[ContractSummary]
    replaces: list[str]  # ids of loaded contracts the upload would stand in for


class CheckResult(msgspec.Struct, kw_only=True):
    ok: bool
    summary: CheckSummary


class ReloadResult(msgspec.Struct, kw_only=True):
    ok: bool
    contracts: int
    devices: int
    tiers: int
    programs: int
    added: list[str]
    removed: list[str]
    # cases whose provisional clocks were planned again on the reloaded holiday data
    replanned: list[str]
    # calendar regions whose published holiday data ends soon (docs/calendars.md)
    warnings: list[str]


_PROBLEMS = {
    400: "The upload's file name or JSON shape is unusable.",
    401: "Missing, unknown or revoked token.",
    403: "The token's roles do not allow this.",
    404: "No such contract visible to this token.",
    413: "Request body larger than the server's limit (1 MB).",
    415: "Not application/yaml, text/plain or application/json.",
    422: "Contract problems, each with file, line, column and YAML path.",
}


@dataclass
class _CheckOperation(Operation):
    """The check's OpenAPI operation: the raw body is documented by hand."""

    def __post_init__(self) -> None:
        text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
        files = Schema(
            type=OpenAPIType.OBJECT,
            required=["files"],
            properties={
                "files": Schema(
                    type=OpenAPIType.OBJECT,
                    additional_properties=Schema(type=OpenAPIType.STRING),
                    description="file name → YAML text",
                )
            },
        )
        self.request_body = RequestBody(
            required=True,
            description="one contract file as YAML, or several as a JSON map",
            content={
                "application/yaml": text,
                "text/plain": text,
                "application/json": OpenAPIMediaType(schema=files),
            },
        )


# --- handlers ----------------------------------------------------------------------------------


@get(
    "/api/v1/contracts",
    guards=[authenticated],
    opt={"roles": STAFF},
    sync_to_thread=False,  # reads the in-memory set only
    tags=["contracts"],
    operation_id="listContracts",
    responses=problem_responses(401, 403, texts=_PROBLEMS),
)
def list_contracts(runtime: RuntimeDep) -> ContractList:
    """Every loaded contract, by id: customer, program, period, device count, file."""
    contracts = runtime.contracts
    return ContractList(items=[summary(lc) for _, lc in sorted(contracts.contracts.items())])


@get(
    "/api/v1/contracts/{contract_id:str}",
    guards=[authenticated],
    opt={"roles": EVERYONE},
    sync_to_thread=False,  # reads the in-memory set only
    tags=["contracts"],
    operation_id="getContract",
    responses=problem_responses(401, 403, 404, texts=_PROBLEMS),
)
def show_contract(
    runtime: RuntimeDep, principal: PrincipalDep, contract_id: FromPath[str]
) -> ContractDetail:
    """One contract as loaded (defaults filled in, YAML's kebab-case keys), its tiers and zones.

    A customer token sees its own customer's contracts only; any other id is a 404.
    """
    contracts = runtime.contracts
    scope = customer_scope(principal)
    if scope is None:
        lc = contracts.get(contract_id)
    else:
        # one answer for missing and not-yours, without the staff message's list of known ids
        found = contracts.contracts.get(contract_id)
        if found is None or found.contract.customer.id != scope:
            raise NotFoundError(f"unknown contract {contract_id!r}")
        lc = found
    return details(lc, customer_view=scope is not None)


@post(
    "/api/v1/contracts/check",
    guards=[authenticated],
    opt={"roles": CHECKERS},
    sync_to_thread=True,
    status_code=200,
    tags=["contracts"],
    operation_id="checkContracts",
    operation_class=_CheckOperation,
    responses=problem_responses(400, 401, 403, 413, 415, 422, texts=_PROBLEMS),
)
def check_upload(
    request: Request[Any, Any, Any],
    runtime: RuntimeDep,
    body: RawBody,
    name: UploadName = DEFAULT_UPLOAD_NAME,
) -> CheckResult:
    """Check contract file(s) against the current tier catalog and the other loaded contracts.

    Body: one YAML file (``application/yaml`` or ``text/plain``; ``?name=`` names it in
    errors) or ``application/json`` ``{"files": {"name.yaml": "..."}}``. An upload with the
    id (or file name) of a loaded contract stands in for it. Nothing is changed.
    """
    files = uploaded_files(request.content_type[0], body, name)
    settings = runtime.settings
    checked = check_uploads(
        files, runtime.contracts, Path(settings.contracts_dir), runtime.pm, settings.yaml_limits
    )
    return CheckResult(
        ok=True,
        summary=CheckSummary(
            **counts(checked.loaded),
            checked=[summary(lc) for _, lc in sorted(checked.loaded.contracts.items())],
            replaces=checked.replaces,
        ),
    )


@post(
    "/api/v1/contracts/reload",
    guards=[authenticated],
    opt={"roles": RELOADERS},
    sync_to_thread=True,
    status_code=200,
    tags=["contracts"],
    operation_id="reloadContracts",
    responses=problem_responses(401, 403, 422, texts=_PROBLEMS),
)
def reload_contracts(runtime: RuntimeDep) -> ReloadResult:
    """Load the contracts directory again; on any problem the old contracts stay active.

    Provisional SLA clocks (planned past the holiday data) are then planned again on the
    reloaded data; ``replanned`` lists their cases, ``warnings`` regions whose data ends soon.
    """
    directory = Path(runtime.settings.contracts_dir)
    with _RELOAD_LOCK:
        old = runtime.contracts
        loaded, problems = check_contracts(
            [directory], pm=runtime.pm, limits=runtime.settings.yaml_limits
        )
        if problems or loaded is None:
            raise ContractError(relative_problems(problems, directory))
        runtime.use_contracts(loaded)
        # a new holiday year (file or package) re-plans the clocks planned past the data
        replanned = runtime.replan_provisional()
    return ReloadResult(
        ok=True,
        **counts(loaded),
        added=sorted(loaded.contracts.keys() - old.contracts.keys()),
        removed=sorted(old.contracts.keys() - loaded.contracts.keys()),
        replanned=[entry["case"] for entry in replanned],
        warnings=runtime.horizon_warnings(),
    )


# --- views -------------------------------------------------------------------------------------


def summary(lc: LoadedContract) -> ContractSummary:
    contract = lc.contract
    return ContractSummary(
        id=contract.id,
        customer=CustomerRef(id=contract.customer.id, name=contract.customer.name),
        program=contract.program,
        period=PeriodView(start=contract.period.start, end=contract.period.end),
        devices=len(contract.devices),
        file=Path(lc.file).name,
    )


def details(lc: LoadedContract, *, customer_view: bool = False) -> ContractDetail:
    contract = lc.contract
    program = lc.catalog.programs.get(contract.program)
    return ContractDetail(
        id=contract.id,
        file=Path(lc.file).name,
        contract=staff_masked(contract) if customer_view else contract,
        tiers=sorted({device.tier for device in contract.devices}),
        program_tiers=list(program.tiers) if program else [],
        zones=list(lc.zone_resolver.zones),
    )


def staff_masked(contract: Contract) -> Contract:
    """The contract as its customer sees it: our staff's mobiles and e-mail addresses masked
    as notifications mask them (``139****2306``, ``s***@mingsheng.example.cn``). Office
    phones (the 7x24 hotline) stay: they are how the customer reaches us."""
    staff = contract.our_staff
    masked = {
        role: _masked(person)
        for role in ("project_manager", "service_manager", "complaint_manager", "spare_manager")
        if (person := getattr(staff, role)) is not None
    }
    return msgspec.structs.replace(contract, our_staff=msgspec.structs.replace(staff, **masked))


def _masked(person: Person) -> Person:
    return msgspec.structs.replace(
        person,
        mobile=mask_mobile(person.mobile) if person.mobile else person.mobile,
        email=mask_email(person.email) if person.email else person.email,
    )


def counts(contracts: ContractSet) -> dict[str, int]:
    return {
        "contracts": len(contracts.contracts),
        "devices": sum(len(lc.contract.devices) for lc in contracts.contracts.values()),
        "tiers": len(contracts.catalog.tiers),
        "programs": len(contracts.catalog.programs),
    }


# --- checking an upload ------------------------------------------------------------------------


def uploaded_files(media_type: str, body: bytes, name: str) -> dict[str, bytes]:
    """The uploaded files by name, from a YAML body or a JSON ``files`` map."""
    if media_type in YAML_TYPES:
        files = {name: body}
    elif media_type == "application/json":
        try:
            upload = msgspec.json.decode(body, type=CheckFiles)
        except msgspec.DecodeError as exc:
            raise _invalid("$", f'expected {{"files": {{name: yaml text}}}}: {exc}') from None
        files = {key: text.encode("utf-8") for key, text in upload.files.items()}
        if not files:
            raise _invalid("$.files", "no file given")
    else:
        raise HTTPException(
            status_code=415,
            detail=f"send one YAML file as application/yaml or text/plain, or several as "
            f'application/json {{"files": {{...}}}}, not {media_type or "no content type"}',
        )
    for file in files:
        _check_name(file, None if media_type in YAML_TYPES else f"$.files[{file!r}]")
    return files


def _check_name(file: str, path: str | None) -> None:
    """A bare contract file name (it is written into a temp dir and must not escape it)."""
    if not _FILE_NAME.match(file) or not file.endswith(CONTRACT_SUFFIXES):
        raise _invalid(path, f"{file!r}: a bare file name ending in .yaml or .yml is needed")
    if file in TIERS_FILES:
        raise _invalid(path, f"{file!r}: checks run against the current tier catalog")


def _invalid(path: str | None, message: str) -> ValidationException:
    """A 400 through problems.validation_error, naming a body path or else ``query.name``."""
    if path is None:
        return ValidationException(
            detail=message, extra=[{"message": message, "key": "name", "source": "query"}]
        )
    return ValidationException(detail=message, extra=[{"message": f"{message} - at `{path}`"}])
