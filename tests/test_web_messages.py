"""The web pages' two catalogs (web/messages/zh.yaml, en.yaml) hold the same keys, and each
message the same {placeholders} in both languages: a page never shows a key for a missing
message, nor fails to format one."""

from __future__ import annotations

import re

from web.i18n import LANGUAGES, catalog

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    zh, en = (catalog(lang) for lang in LANGUAGES)
    assert sorted(set(zh) ^ set(en)) == []
    differ = [
        key for key in zh if set(PLACEHOLDER.findall(zh[key])) != set(PLACEHOLDER.findall(en[key]))
    ]
    assert differ == []


def test_the_knowledge_part_of_the_case_page_has_its_messages() -> None:
    keys = {"knowledge", "kb_related", "kb_search_label", "kb_results_for", "kb_no_results"}
    for lang in LANGUAGES:
        assert keys <= set(catalog(lang)), lang
    assert catalog("zh")["kb_results_for"].format(q="内存故障") == "“内存故障”的搜索结果"
