"""`casetrack audit verify | seal`: check case histories, their seals and the rows built on them."""

from __future__ import annotations

import argparse

from cli import _db
from cli._args import Commands, command, group
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(
        commands, "audit", help="verify case histories, their seals and the rows built from them"
    )
    verify = command(
        sub,
        "verify",
        run_verify,
        help="check that no case history, case, clock or number was changed, cut or removed",
        description="Recompute every event hash and link, check the HMAC seals with the audit "
        "key (CASETRACK_AUDIT_KEY or var/audit.key), replay every history against the cases "
        "and clocks stored, and check that case numbers are gapless; exit 1 with one line a "
        "finding. The database is $CASETRACK_DATABASE_URL (default sqlite:///var/casetrack.db). "
        "See docs/audit.md.",
    )
    verify.add_argument("--case", metavar="NUMBER", help="check only this case")
    command(
        sub,
        "seal",
        run_seal,
        help="seal the unsealed case heads and counters that verify (once, after upgrading)",
        description="Seal with the audit key every case head and numbering counter that has no "
        "seal yet (histories written before migration 0005 or by a writer without the key), "
        "after verifying them; a case or counter with findings is refused and listed, exit 1.",
    )


def _audit_key(settings: Settings, *, create: bool) -> bytes | None:
    from core.store.seal import load_audit_key

    return load_audit_key(settings, create=create)


def run_verify(args: argparse.Namespace) -> int:
    from core.store import audit
    from core.store.blobs import open_blobs
    from core.store.db import make_sessionmaker

    key = _audit_key(args.settings, create=False)
    with (
        _db.engine(args.settings, require_schema=True) as engine,
        make_sessionmaker(engine)() as session,
    ):
        blobs = open_blobs(args.settings)
        report = audit.verify(session, args.case, key=key, blobs=blobs)
        if key is None:
            report.findings += audit.unverifiable_seals(session)
    for line in report.lines():
        print(line)
    if not report.ok:
        return 1
    print(audit.summary(report))
    return 0


def run_seal(args: argparse.Namespace) -> int:
    from core.store import audit

    key = _audit_key(args.settings, create=True)
    assert key is not None
    with _db.transaction(args.settings) as session:
        sealed = audit.seal_unsealed(session, key)
    for line in sealed.refused:
        print(f"not sealed: {line}")
    print(f"sealed {sealed.cases} case heads and {sealed.counters} counters")
    return 1 if sealed.refused else 0
