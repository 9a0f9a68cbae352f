"""What the routes that hand out a contract's documents share (api/reports.py, api/documents.py,
and the pages of web/documents.py): the route itself, the contract id in its path, the contract
a principal may read, and a rendered body as the response, shown or downloaded as a file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import PathParameter

from api.auth import authenticated, customer_scope
from api.cases import ID, PREFIX
from api.schemas import problem_responses
from core import limits
from core.errors import NotFoundError

if TYPE_CHECKING:
    from core.case import Role
    from core.loaded import LoadedContract
    from core.runtime import Runtime
    from core.store.tokens import Principal

ContractId = Annotated[
    str, PathParameter(title="contract id", max_length=limits.IDENTIFIER, pattern=ID)
]


def contract_download(
    path: str, operation_id: str, tag: str, roles: tuple[Role, ...]
) -> HTTPRouteHandler:
    """``GET /api/v1<path>`` of a contract's document, for signed-in ``roles`` (a customer only
    its own contract: ``readable_contract``), built on a thread. The handler's docstring is its
    OpenAPI description."""
    return get(
        f"{PREFIX}{path}",
        operation_id=operation_id,
        tags=[tag],
        guards=[authenticated],
        opt={"roles": roles},
        sync_to_thread=True,
        responses=problem_responses(400, 401, 403, 404),
    )


def readable_contract(runtime: Runtime, principal: Principal, contract_id: str) -> LoadedContract:
    """The contract, if ``principal`` may read it: staff every contract, a customer token only
    its own; else 404, as if it did not exist."""
    lc = runtime.contracts.contracts.get(contract_id)
    scope = customer_scope(principal)
    if lc is None or (scope is not None and scope != lc.contract.customer.id):
        raise NotFoundError(f"no contract {contract_id!r}")
    return lc


def file_response(
    body: bytes | str,
    media_type: str,
    attachment: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[Any]:
    """``body`` as ``media_type``; with ``attachment``, a download of that file name."""
    sent = dict(headers or {})
    if attachment is not None:
        sent["Content-Disposition"] = f'attachment; filename="{attachment}"'
    return Response(body, media_type=media_type, headers=sent)
