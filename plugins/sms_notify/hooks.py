"""Registers the ``sms`` notifier: Alibaba Cloud SMS when configured, else a local spool.

Configuration (environment, read when the hook runs; building a sender does no I/O):

- ``CASETRACK_SMS_ACCESS_KEY_ID``, ``CASETRACK_SMS_ACCESS_KEY_SECRET``, ``CASETRACK_SMS_SIGN_NAME``
  all set → ``AlibabaSms`` (``CASETRACK_SMS_ENDPOINT`` overrides https://dysmsapi.aliyuncs.com/,
  ``CASETRACK_SMS_TIMEOUT`` the 10 s a request may take).
  Some but not all of the three → PluginError: a half-configured gateway must not silently
  fall back to the spool and drop the alerts people expect on their phones.
- none of them → ``SpoolSms`` writing to ``CASETRACK_SMS_SPOOL`` (default
  ``<CASETRACK_VAR_DIR>/sms-spool``, i.e. ``var/sms-spool``).

Both senders implement ``send(notice) -> Delivery`` and raise ``TransientDeliveryError`` when
a retry may help; ``send`` does blocking I/O and belongs in a worker, not in a hook. See
docs/notifiers.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from core import hookimpl
from core.errors import PluginError
from plugins.sms_notify.gateway import DEFAULT_ENDPOINT, AlibabaSms
from plugins.sms_notify.spool import SpoolSms

PLUGIN = "sms_notify"
DEFAULT_TIMEOUT = 10.0
GATEWAY_SETTINGS = (
    "CASETRACK_SMS_ACCESS_KEY_ID",
    "CASETRACK_SMS_ACCESS_KEY_SECRET",
    "CASETRACK_SMS_SIGN_NAME",
)


def sender_from_env(environ: Mapping[str, str]) -> AlibabaSms | SpoolSms:
    """The ``sms`` sender the environment asks for (see the module docstring)."""
    given = {name: environ.get(name, "").strip() for name in GATEWAY_SETTINGS}
    missing = [name for name, value in given.items() if not value]
    if not missing:
        return AlibabaSms(
            access_key_id=given["CASETRACK_SMS_ACCESS_KEY_ID"],
            access_key_secret=given["CASETRACK_SMS_ACCESS_KEY_SECRET"],
            sign_name=given["CASETRACK_SMS_SIGN_NAME"],
            endpoint=environ.get("CASETRACK_SMS_ENDPOINT", "").strip() or DEFAULT_ENDPOINT,
            timeout=_timeout(environ.get("CASETRACK_SMS_TIMEOUT", "")),
        )
    if len(missing) < len(GATEWAY_SETTINGS):
        raise PluginError(
            PLUGIN, f"the Alibaba SMS gateway is half configured: set {', '.join(missing)} too"
        )
    spool = environ.get("CASETRACK_SMS_SPOOL", "").strip()
    default = Path(environ.get("CASETRACK_VAR_DIR", "").strip() or "var") / "sms-spool"
    return SpoolSms(Path(spool) if spool else default)


def _timeout(text: str) -> float:
    """``CASETRACK_SMS_TIMEOUT`` in seconds (default 10): a gateway slower than that is a
    transient failure, retried later."""
    if not text.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise PluginError(PLUGIN, f"CASETRACK_SMS_TIMEOUT={text!r}: want seconds, e.g. 10")
    return value


@hookimpl
def register_notifiers(register: Callable[..., None]) -> None:
    """``register("sms", sender)`` with the gateway or the spool, from the environment."""
    register("sms", sender_from_env(os.environ))
