"""The module casetrack's plugin manager registers (entry point group ``casetrack``)."""

from __future__ import annotations

from collections.abc import Callable

from core import hookimpl
from core.rma import RmaChannel

HPE_DEMO = RmaChannel(
    name="hpe_demo",
    vendor="HPE (demo)",
    description="A demonstration HPE channel: answers from memory, no network.",
    # imported when the first hpe_demo RMA is opened; called as factory(settings, context)
    factory="hpe_demo_casetrack.channel:HpeDemoChannel.from_settings",
)


@hookimpl
def register_rma_channels(register: Callable[..., None]) -> None:
    register(HPE_DEMO.name, HPE_DEMO)
