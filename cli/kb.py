"""`casetrack kb ...`: the knowledge base (docs/knowledge.md): search it, add an article, show an
entry, harvest resolved cases that have no entry yet (backfill)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import msgspec

from cli._args import Commands, command, group, positive
from cli.workers import _background_runtime
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.settings import Settings
    from core.store.knowledge import KbArticle, KbHit

VISIBILITIES = ("internal", "customer", "public")


def add_parser(commands: Commands, settings: Settings) -> None:
    kb = group(commands, "kb", help="knowledge base: search, add, show, backfill")
    found = command(
        kb,
        "search",
        run_search,
        help="search resolved cases' fixes and articles",
        description="Search the knowledge base: Chinese is cut into words (jieba), so "
        "'打印机卡纸' finds '打印机每打几张就卡纸'. Best first; staff view unless --customer.",
    )
    found.add_argument("query", help="words, Chinese or English")
    found.add_argument("--model", help="only entries for this device model")
    found.add_argument("--category", help="only entries of this service type")
    found.add_argument("--customer", help="search as this customer sees it (public + its own)")
    found.add_argument("--limit", type=positive, default=10)
    _json(found)
    add = command(
        kb,
        "add",
        run_add,
        help="add an article",
        description="Add an engineer's article: who may read it is --visibility (internal: "
        "staff; customer: staff and --customer; public: everyone).",
    )
    add.add_argument("--title", required=True)
    add.add_argument("--problem")
    add.add_argument("--cause")
    add.add_argument("--fix")
    add.add_argument("--body", help="the article's text")
    add.add_argument("--model", help="device model it is about")
    add.add_argument("--category", help="service type it is about (e.g. fault_rescue)")
    add.add_argument("--visibility", choices=VISIBILITIES, default="internal")
    add.add_argument("--customer", help="the customer of a customer-visible article")
    add.add_argument("--actor", default="cli", help="who writes it (default: cli)")
    _json(add)
    show = command(kb, "show", run_show, help="one entry in full")
    show.add_argument("id", type=positive, help="entry id (from kb search)")
    _json(show)
    backfill = command(
        kb,
        "backfill",
        run_backfill,
        help="harvest resolved cases that have no entry yet",
        description="Write the knowledge entry of every resolved or closed case that has "
        "none (cases resolved before the knowledge base existed); new resolutions are "
        "harvested when they happen.",
    )
    backfill.add_argument("--limit", type=positive, default=500, help="cases per batch")


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")


def run_search(args: argparse.Namespace) -> int:
    with _background_runtime(args) as runtime:
        hits = runtime.desk.search_knowledge(
            args.query,
            customer_id=args.customer,
            device_model=args.model,
            category=args.category,
            limit=args.limit,
        )
    if args.json:
        for hit in hits:
            sys.stdout.write(msgspec.json.encode(hit).decode() + "\n")
    elif not hits:
        print("no entries found")
    for hit in [] if args.json else hits:
        _print_hit(hit)
    return 0


def _print_hit(hit: KbHit) -> None:
    source = f"case {hit.case_number}" if hit.case_number else "article"
    print(f"#{hit.id}  {hit.title}  ({source}, {hit.device_model or '-'}, {hit.visibility})")
    if hit.fix:
        print(f"    fix: {hit.fix}")


def run_add(args: argparse.Namespace) -> int:
    from core.commands import WriteArticle

    values = {
        "title": args.title,
        "problem": args.problem,
        "cause": args.cause,
        "fix": args.fix,
        "body": args.body,
        "device_model": args.model,
        "category": args.category,
        "visibility": args.visibility,
        "customer_id": args.customer,
    }
    try:
        cmd = msgspec.convert(values, WriteArticle)
    except msgspec.ValidationError as exc:
        raise CasetrackError(f"invalid option: {exc}") from None
    with _background_runtime(args) as runtime:
        article = runtime.desk.write_article(cmd, actor=args.actor, now=runtime.clock())
    _print_article(article, args.json)
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _background_runtime(args) as runtime:
        article = runtime.desk.knowledge_entry(args.id)
    _print_article(article, args.json)
    return 0


def _print_article(article: KbArticle, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(msgspec.json.encode(article).decode() + "\n")
        return
    source = f"case {article.case_number}" if article.case_number else "article"
    print(f"#{article.id}  {article.title}")
    print(f"  {source}; model: {article.device_model or '-'}; category: {article.category or '-'}")
    print(f"  visibility: {article.visibility} {article.customer_id or ''}".rstrip())
    for label, value in (
        ("problem", article.problem),
        ("cause", article.cause),
        ("fix", article.fix),
        ("body", article.body),
    ):
        if value:
            print(f"  {label}: {value}")
    print(f"  by {article.author}, {article.created_at:%Y-%m-%d %H:%M}Z")


def run_backfill(args: argparse.Namespace) -> int:
    total = 0
    with _background_runtime(args) as runtime:
        while True:
            done = runtime.desk.backfill_knowledge(now=runtime.clock(), limit=args.limit)
            total += done
            if done < args.limit:
                break
    print(f"{total} resolved case(s) added to the knowledge base")
    return 0
