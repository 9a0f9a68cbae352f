"""The demo's Cisco: a local stand-in for Cisco's Support APIs while the stories are seeded.

There are no Cisco credentials here, and demo data must never reach Cisco anyway, so while
``seed_demo`` plays a story with a Cisco TAC RMA it starts plugins.vendor_rma.cisco_sandbox's
CiscoSandbox (real HTTP on 127.0.0.1, the JSON shapes docs/rma_cisco.md describes) in this
process and points the runtime's ``cisco_tac`` channel at it: the RMA is opened, moved on
(``cisco_advance`` steps) and polled over HTTP exactly as with Cisco. When seeding ends the
sandbox stops and the channel is built again from the runtime's own settings on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import msgspec

from cli.demo.book import CiscoAdvance, Story
from plugins.vendor_rma.cisco_channel import CiscoTacChannel
from plugins.vendor_rma.cisco_sandbox import CiscoSandbox

if TYPE_CHECKING:
    from core.runtime import Runtime

CHANNEL = "cisco_tac"


def needs_cisco(stories: list[Story]) -> bool:
    return any(isinstance(step.cmd, CiscoAdvance) for story in stories for step in story.steps)


@contextmanager
def cisco_stand_in(runtime: Runtime, stories: list[Story]) -> Iterator[CiscoSandbox | None]:
    """The running stand-in while the block runs (None when no story needs Cisco)."""
    channels = runtime.desk.rma_channels
    if not needs_cisco(stories) or channels is None or CHANNEL not in channels.channels:
        yield None
        return
    with CiscoSandbox() as sandbox:
        settings = msgspec.structs.replace(
            runtime.settings,
            cisco_tac_api_url=sandbox.api_url,
            cisco_tac_token_url=sandbox.token_url,
            cisco_tac_client_id=sandbox.client_id,
            cisco_tac_client_secret=sandbox.client_secret,
        )
        channel = CiscoTacChannel.from_settings(settings)
        channels.use(CHANNEL, channel)
        try:
            yield sandbox
        finally:
            channels.forget(CHANNEL)
            channel.close()
