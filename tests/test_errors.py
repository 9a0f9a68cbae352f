"""Every error casetrack raises on purpose is a client error (4xx) or a server error (5xx),
and the HTTP layer answers each with a status someone chose (api/problems.py)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import api
import cli
import core
import plugins
from api.problems import STATUS, status_of
from core.errors import CasetrackError, ClientError, ServerError, Unavailable

# every CasetrackError subclass in the tree, by name (wherever it is defined), and the status a
# client sees. A new error class fails `test_every_error_has_a_deliberate_status` until it is added.
EXPECTED = {
    "ClientError": 400,
    "ServerError": 500,
    "Unavailable": 503,
    # the request is at fault
    "CalendarError": 422,
    "NaiveDatetimeError": 422,
    "NoOpenTimeError": 422,
    "CalendarDataMissing": 422,
    "ContractError": 422,
    "InvalidField": 400,
    "InvalidPeriod": 400,  # core.reports.period: a report period that is none
    "ImplausibleTime": 422,
    "NotFoundError": 404,
    "ConflictError": 409,
    "SlaError": 422,
    "InvalidQuery": 400,
    "InvalidCursor": 400,
    "Forbidden": 403,
    "IllegalTransition": 409,
    "SpareStepRefused": 409,
    "ClockError": 422,
    "StaffError": 422,
    "InvalidCommand": 422,
    "UnknownEngineer": 422,
    "CloseRefused": 422,
    "OutsideContract": 422,
    "NotEntitled": 422,
    "IdempotencyMismatch": 422,
    "RemoteSupportFirst": 409,
    "StepOutOfOrder": 409,
    "ApprovalRequired": 409,
    "ChangeNotApproved": 409,
    "InspectionIncomplete": 409,
    "NoticeTooShort": 409,
    "WrongSignatory": 422,
    "AttachmentRejected": 422,
    "AttachmentTooLarge": 413,
    "AttachmentType": 415,
    "UnknownAttachment": 422,
    "InvalidToken": 401,
    "TokenError": 400,
    "UserError": 400,
    "UserExists": 409,
    "CsrfRefused": 403,
    "TooManyAttempts": 429,
    "TooManySurveyAttempts": 429,
    "NotificationNotRetryable": 409,
    "CredentialRemoved": 409,
    # quality (issue 15)
    "SurveyClosed": 410,
    "SurveyProblemClosedError": 422,
    "ActionsOpen": 409,
    "VendorRejected": 400,
    "RmaParseError": 400,
    "RmaChannelUnavailable": 409,
    # the server is at fault: configuration, keys, plugins, delivery
    "PluginError": 500,
    "SecretKeyError": 500,
    "CredentialsUnreadable": 500,
    "AuditKeyError": 500,
    "SettingsError": 500,
    "SettingsFileError": 500,
    "ServiceTypesError": 500,
    "NotifierError": 500,
    "TransientDeliveryError": 500,
    "NoticeTemplateError": 500,
    "BrokerUrlError": 500,
    "ServeError": 500,
    "InvalidAddress": 500,
    "NotifierConfigError": 500,
    "PhoneNumberError": 500,
    "NotAMobileNumber": 500,
    "UnknownTemplate": 500,
    "RmaError": 500,
    "BlobStoreError": 500,
    "BlobMissing": 500,
    "BlobCorrupt": 500,
    "MissingTemplateVariables": 500,
    # the server cannot answer now, later it will
    "SchemaNotReady": 503,
    "VendorUnavailable": 503,
    "BlobStoreUnavailable": 503,
}


def _import_everything() -> None:
    """Import every module of the packages that may define errors (the migrations folder
    is no package: its scripts run only under Alembic)."""
    for package in (core, api, cli, plugins):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)


def _subclasses(kind: type) -> set[type]:
    found: set[type] = set()
    for sub in kind.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _errors() -> dict[str, type[CasetrackError]]:
    _import_everything()
    packages = (core, api, cli, plugins)
    found = {
        kind
        for kind in _subclasses(CasetrackError)
        if kind.__module__.split(".")[0] in {p.__name__ for p in packages}
    }  # not the throwaway classes of tests
    named = {kind.__qualname__: kind for kind in found}
    assert len(named) == len(found), "two error classes share a name"
    return named


def _instance(kind: type[CasetrackError]) -> CasetrackError:
    """An instance without running ``__init__`` (constructors differ; the class decides)."""
    error = kind.__new__(kind)
    error.detail = "x"
    return error


def test_every_error_has_a_deliberate_status() -> None:
    found = _errors()
    assert sorted(found) == sorted(EXPECTED), "add new error classes to EXPECTED with a status"
    statuses = {name: status_of(_instance(kind)) for name, kind in found.items()}
    assert statuses == EXPECTED


def test_there_are_errors_from_every_layer() -> None:
    modules = {kind.__module__.split(".")[0] for kind in _errors().values()}
    assert modules == {"core", "cli", "plugins"}
    assert len(_errors()) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_error_is_in_one_family(name: str) -> None:
    kind = _errors()[name]
    client, server = issubclass(kind, ClientError), issubclass(kind, ServerError)
    assert client != server, f"{name} must be a ClientError or a ServerError, not both"
    status = status_of(_instance(kind))
    assert 400 <= status < 500 if client else 500 <= status < 600
    assert (status == 503) == issubclass(kind, Unavailable)


def test_an_unclassified_error_is_a_500_never_a_400() -> None:
    class Unclassified(CasetrackError):
        pass

    assert status_of(Unclassified("x")) == 500
    assert status_of(CasetrackError("x")) == 500


def test_the_table_lists_subclasses_before_their_bases() -> None:
    """A row never shadows a later one: the later row's class is no subclass of an earlier."""
    for i, (later, _) in enumerate(STATUS):
        assert not any(issubclass(later, earlier) for earlier, _ in STATUS[:i]), later
