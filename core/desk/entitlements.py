"""Entitlements: what the contract bought, checked before a command records anything.

Each refusal is ``NotEntitled`` and names the contract and the clause (its YAML path, with the
file and line when the contract came from a file), so the desk can tell the customer why.
- on-site labour for a part swap only where bought (R-SPARE: 现场支持 "仅限于额外购买了现场人工
  服务的合同用户"): ``onsite-labour: true``;
- a spare-part level only where its tier is sold (the 4-hour levels: near Beijing, Shanghai,
  Guangzhou): the case's zone must be one of the tier's ``zones``;
- remote access only after the customer's consent is recorded (R-RESP: 征得用户同意后).
"""

from __future__ import annotations

import re
from pathlib import Path

from core.contract import Device
from core.desk.errors import NotEntitled
from core.loaded import LoadedContract


def clause(lc: LoadedContract, path: str) -> str:
    """``path`` with where it is written: ``$.devices[2].tier at hospital.yaml:98``, or
    ``$.remote-access (our default: not in hospital.yaml)`` when the file leaves it out."""
    if lc.doc is None:
        return path
    name = Path(lc.file).name
    parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path) or "$"
    where = lc.doc.locate(path)
    if where[0] is None:
        return path
    if parent != path and lc.doc.locate(parent) == where:  # the key is absent: its parent
        return f"{path} (our default: not in {name})"
    return f"{path} at {name}:{where[0]}"


def onsite_refusal(
    lc: LoadedContract, number: str, serial: str | None, *, part_swap: bool
) -> str | None:
    """Why the contract did not buy this on-site visit, or None when it did.

    A part swap needs on-site labour (``onsite-labour``, or the device's own
    ``onsite-labour``); any other visit needs on-site support (``onsite.included``)."""
    contract = lc.contract
    if part_swap:
        if contract.onsite_labour_for(serial):
            return None
        device = contract.device(serial) if serial else None
        where = f"$.onsite-labour is false in {Path(lc.file).name}"
        if device is not None and device.onsite_labour is not None:
            index = contract.devices.index(device)
            where = f"{clause(lc, f'$.devices[{index}].onsite-labour')} is false"
        return (
            f"contract {lc.id}: onsite labour not purchased ({where}): case {number} "
            "gets the part delivered to the door; an engineer swapping it on site is only for "
            "contracts that bought on-site labour "
            "(现场支持, 仅限于额外购买了现场人工服务的合同用户)"
        )
    if contract.onsite.included:
        return None
    return (
        f"contract {lc.id}: on-site support is not part of this contract "
        f"({clause(lc, '$.onsite.included')} is false): case {number} is served by phone and "
        "remote access"
    )


def check_spare_level(lc: LoadedContract, device: Device, zone: str | None) -> None:
    """The device's tier must be sold where the case's site is (a tier's ``zones``)."""
    tier = lc.tier(device.tier)
    if tier.zones is None or zone is None or zone in tier.zones:
        return
    index = next(i for i, d in enumerate(lc.contract.devices) if d.serial == device.serial)
    raise NotEntitled(
        f"contract {lc.id}: spare level {device.tier} of device {device.serial} "
        f"({clause(lc, f'$.devices[{index}].tier')}) is sold only in zones "
        f"{', '.join(tier.zones)} (tiers.yaml $.tiers.{device.tier}.zones); this case's site "
        f"is in zone {zone!r}: no spare-part promise applies there"
    )


def check_remote_consent(lc: LoadedContract, number: str, consented: bool) -> None:
    """Remote access (a login on the customer's device) needs their recorded consent."""
    if consented:
        return
    raise NotEntitled(
        f"contract {lc.id}: remote access on case {number} needs the customer's recorded "
        f"consent ({clause(lc, '$.remote-access')}; R-RESP 征得用户同意后): record it first "
        "(remote-access with consent_by and consent_at)"
    )
