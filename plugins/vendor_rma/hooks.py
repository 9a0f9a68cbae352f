"""Registers the built-in RMA channels ``digital_china`` and ``cisco_tac``.

Contracts name a channel per covered device; naming one that no plugin registered is an error
when the contract loads. Each descriptor names the factory of its client (core.rma.RmaChannel):
Digital China's structured e-mail channel (plugins/vendor_rma/digital_china.py) and Cisco's
support-API client (plugins/vendor_rma/cisco_channel.py), imported when first used.
"""

from __future__ import annotations

from collections.abc import Callable

from core import hookimpl
from plugins.vendor_rma.channels import BUILTIN_CHANNELS


@hookimpl
def register_rma_channels(register: Callable[..., None]) -> None:
    """``register(name, RmaChannel)`` for each built-in channel."""
    for channel in BUILTIN_CHANNELS:
        register(channel.name, channel)
