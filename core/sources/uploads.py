"""Checking contract files someone uploads against the loaded set; nothing is changed."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.contract import Contract
from core.errors import ContractError, Problem
from core.loaded import ContractSet, LoadedContract, NoResolver
from core.sources.checks import duplicate_problems
from core.sources.contracts import (
    CALENDARS_DIR,
    TIERS_FILES,
    ZONES_DIR,
    check_contracts,
    problem_order,
    relative_problems,
)
from core.sources.yamlsource import DEFAULT_LIMITS, YamlLimits, convert, parse

if TYPE_CHECKING:
    from pluggy import PluginManager


@dataclass(frozen=True)
class UploadCheck:
    """The uploads, loaded as a set of their own, and the loaded contracts they replace."""

    loaded: ContractSet
    replaces: list[str]  # ids of loaded contracts the uploads would stand in for


def check_uploads(
    files: Mapping[str, bytes],
    current: ContractSet,
    contracts_dir: Path,
    pm: PluginManager,
    limits: YamlLimits = DEFAULT_LIMITS,
) -> UploadCheck:
    """Run the loader's checks on the uploads (bare file names → content) beside a copy of
    the tier catalog and calendars of ``contracts_dir``; raises ContractError listing every
    problem, with the uploads' names (never the temporary directory's).

    An upload with the id (or file name) of a loaded contract stands in for it. The other
    loaded contracts are compared in memory (device serials must stay unique), so that
    their problems, if any appeared on disk since loading, are not the upload's.
    """
    uploads = list(_parsed(files, current, limits))
    replaced = {lc.id for lc in uploads}
    others = [
        lc
        for lc in current.contracts.values()
        if lc.id not in replaced and Path(lc.file).name not in files
    ]
    loaded, problems = _check_in_copy(files, contracts_dir, pm, limits)
    problems += _clashes(uploads, others)
    if problems or loaded is None:
        raise ContractError(sorted(problems, key=problem_order))
    return UploadCheck(loaded, sorted(replaced & current.contracts.keys()))


def _check_in_copy(
    files: Mapping[str, bytes], contracts_dir: Path, pm: PluginManager, limits: YamlLimits
) -> tuple[ContractSet | None, list[Problem]]:
    """check_contracts over the uploads in a temporary directory with the tier catalog,
    calendars and districts files (``zones/``) beside them."""
    with tempfile.TemporaryDirectory(prefix="casetrack-check-") as tmp:
        root = Path(tmp)
        for file, content in files.items():
            (root / file).write_bytes(content)
        for tiers in TIERS_FILES:
            if (contracts_dir / tiers).is_file():
                shutil.copy(contracts_dir / tiers, root / tiers)
        if (contracts_dir / CALENDARS_DIR).is_dir():
            shutil.copytree(contracts_dir / CALENDARS_DIR, root / CALENDARS_DIR)
        if (contracts_dir / ZONES_DIR).is_dir():  # districts files the contracts name
            shutil.copytree(contracts_dir / ZONES_DIR, root / ZONES_DIR)
        loaded, problems = check_contracts([root], pm=pm, limits=limits)
        return loaded, relative_problems(problems, root)


def _parsed(
    files: Mapping[str, bytes], current: ContractSet, limits: YamlLimits
) -> Iterable[LoadedContract]:
    """The uploads that decode as contracts; the others' errors come from the full check."""
    for file, content in files.items():
        if len(content) > limits.max_bytes:
            continue  # the full check says so, located
        try:
            doc = parse(file, content.decode("utf-8"), limits=limits)
            contract = convert(doc, Contract)
        except (ContractError, UnicodeDecodeError):
            continue
        yield LoadedContract(contract, file, current.catalog, current.registry, NoResolver(), doc)


def _clashes(uploads: Iterable[LoadedContract], others: list[LoadedContract]) -> list[Problem]:
    """Uploaded devices whose serial another loaded contract already covers: the loader's
    duplicate check, one upload at a time (clashes between uploads are the full check's),
    naming the other contract's file without its directory."""
    named = [dataclasses.replace(lc, file=Path(lc.file).name) for lc in others]
    found: list[Problem] = []
    for upload in uploads:
        found += [p for p in duplicate_problems([*named, upload]) if p.file == upload.file]
    return found
