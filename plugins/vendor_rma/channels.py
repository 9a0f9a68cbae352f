"""The built-in vendor RMA channels: their descriptors and the factories that build clients."""

from __future__ import annotations

from core.rma import RmaChannel

__all__ = ["BUILTIN_CHANNELS", "CISCO_TAC", "DIGITAL_CHINA", "RmaChannel"]

DIGITAL_CHINA = RmaChannel(
    name="digital_china",
    vendor="Digital China 神州数码 (Yibang service network)",
    description=(
        "The company opens an RMA with Digital China; Digital China ships the part within the"
        " third business day when its Beijing or Shanghai spare-part warehouse has stock, and"
        " the company forwards it to the customer (handbook R-SPARE)."
    ),
    factory="plugins.vendor_rma.digital_china:DigitalChinaChannel.from_settings",
)

CISCO_TAC = RmaChannel(
    name="cisco_tac",
    vendor="Cisco",
    description=(
        "Cisco TAC RMA: the customer reports to Cisco TAC directly or through the company;"
        " replacement terms follow the device's Cisco service contract (原厂维保,"
        " 具体以原厂承诺为准)."
    ),
    # imported only when a Cisco RMA is first opened or polled (core.rma.RmaChannels)
    factory="plugins.vendor_rma.cisco_channel:CiscoTacChannel.from_settings",
)

BUILTIN_CHANNELS: tuple[RmaChannel, ...] = (DIGITAL_CHINA, CISCO_TAC)
