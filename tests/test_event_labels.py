"""One vocabulary of event names for people (core/event_labels.py): every kind the code records
has a Chinese and an English label, the reports and the web pages read the same labels."""

from __future__ import annotations

import re

from core.event_labels import LABELS, bilingual, label
from core.events import BODIES
from web.i18n import Translator

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_recorded_kind_has_a_label_and_every_label_a_kind() -> None:
    missing = set(BODIES) - set(LABELS)
    assert not missing, f"add labels to core/event_labels.py for {sorted(missing)}"
    assert set(LABELS) - set(BODIES) == set(), "a label for a kind no code records"


def test_labels_are_chinese_and_english_words_not_kinds() -> None:
    for kind, names in LABELS.items():
        assert CJK.search(names.zh), kind
        assert names.en and not CJK.search(names.en) and "_" not in names.en, kind
        assert names.en != kind
    assert len({n.en for n in LABELS.values()}) == len(LABELS)  # no two kinds read the same
    assert len({n.zh for n in LABELS.values()}) == len(LABELS)


def test_the_language_picks_the_label_and_an_unknown_kind_shows_as_itself() -> None:
    assert label("first_response", "zh") == "首次响应"
    assert label("first_response", "en") == "First response"
    assert bilingual("onsite_arrived") == "工程师到场 Engineer on site"
    assert label("vendor_specific", "zh") == bilingual("vendor_specific") == "vendor_specific"


def test_the_web_translator_reads_the_same_vocabulary() -> None:
    for kind in BODIES:
        assert Translator("zh").event(kind) == LABELS[kind].zh
        assert Translator("en").event(kind) == LABELS[kind].en
