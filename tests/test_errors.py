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

# every CasetrackError subclass in the tree, by where it is defined, and the status a client
# sees. A new error class fails `test_every_error_has_a_deliberate_status` until it is added.
EXPECTED = {
    "core.errors.ClientError": 400,
    "core.errors.ServerError": 500,
    "core.errors.Unavailable": 503,
    # the request is at fault
    "core.errors.CalendarError": 422,
    "core.errors.NaiveDatetimeError": 422,
    "core.errors.NoOpenTimeError": 422,
    "core.errors.CalendarDataMissing": 422,
    "core.errors.ContractError": 422,
    "core.errors.InvalidField": 400,
    "core.errors.ImplausibleTime": 422,
    "core.errors.NotFoundError": 404,
    "core.errors.ConflictError": 409,
    "core.errors.SlaError": 422,
    "core.errors.InvalidQuery": 400,
    "core.errors.InvalidCursor": 400,
    "core.errors.Forbidden": 403,
    "core.case.IllegalTransition": 409,
    "core.clocks.ClockError": 422,
    "core.staff.StaffError": 422,
    "core.desk.errors.InvalidCommand": 422,
    "core.desk.errors.CloseRefused": 422,
    "core.desk.errors.IdempotencyMismatch": 422,
    "core.store.tokens.InvalidToken": 401,
    "core.store.tokens.TokenError": 400,
    "core.jobs.outbox.NotificationNotRetryable": 409,
    # the server is at fault: configuration, keys, plugins, delivery
    "core.errors.PluginError": 500,
    "core.errors.SecretKeyError": 500,
    "core.errors.CredentialsUnreadable": 500,
    "core.errors.AuditKeyError": 500,
    "core.settings.SettingsError": 500,
    "core.service_types.ServiceTypesError": 500,
    "core.notify.NotifierError": 500,
    "core.notify.TransientDeliveryError": 500,
    "core.notify.NoticeTemplateError": 500,
    "core.jobs.broker.BrokerUrlError": 500,
    "cli.serve.ServeError": 500,
    "plugins.email_notify.sender.InvalidAddress": 500,
    "plugins.email_notify.sender.NotifierConfigError": 500,
    "plugins.sms_notify.phones.PhoneNumberError": 500,
    "plugins.sms_notify.phones.NotAMobileNumber": 500,
    "plugins.sms_notify.gateway.UnknownTemplate": 500,
    "plugins.sms_notify.gateway.MissingTemplateVariables": 500,
    # the server cannot answer now, later it will
    "core.store.migrate.SchemaNotReady": 503,
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
    return {f"{c.__module__}.{c.__qualname__}": c for c in _subclasses(CasetrackError)}


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
    modules = {name.split(".")[0] for name in _errors()}
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
