"""Descriptors of vendor RMA channels; no client code and no network calls yet."""

from __future__ import annotations

import msgspec


class RmaChannel(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor RMA channel a covered device can name (``rma-channel: digital_china``)."""

    name: str
    vendor: str
    description: str


DIGITAL_CHINA = RmaChannel(
    name="digital_china",
    vendor="Digital China 神州数码 (Yibang service network)",
    description=(
        "The company opens an RMA with Digital China; Digital China ships the part within the"
        " third business day when its Beijing or Shanghai spare-part warehouse has stock, and"
        " the company forwards it to the customer (handbook R-SPARE)."
    ),
)

CISCO_TAC = RmaChannel(
    name="cisco_tac",
    vendor="Cisco",
    description=(
        "Cisco TAC RMA: the customer reports to Cisco TAC directly or through the company;"
        " replacement terms follow the device's Cisco service contract (原厂维保,"
        " 具体以原厂承诺为准)."
    ),
)

BUILTIN_CHANNELS: tuple[RmaChannel, ...] = (DIGITAL_CHINA, CISCO_TAC)
