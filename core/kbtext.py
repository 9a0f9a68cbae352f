"""Knowledge-base text: Chinese and English cut into search terms, the same way for what is
indexed and for what is asked (docs/knowledge.md).

Chinese has no spaces, so a word index needs a segmenter: jieba's search mode
(``cut_for_search``) gives each word and the shorter words inside it ("打印机" → 打印, 打印机),
so a query for either finds it. Latin words are lower-cased; punctuation and a few function
words are dropped. Both back ends index the terms this module makes: PostgreSQL as a
``simple`` tsvector, SQLite as space-padded text under an FTS5 trigram index, where a term is
looked for as `` term `` (spaces included), so a two-character Chinese word is still three
characters long for the trigram tokenizer and only whole terms match.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

MAX_QUERY_TERMS = 16  # a longer query keeps its first terms (each one is an index probe)
MAX_TERM = 40  # characters; longer "words" (hashes, base64) are not worth indexing

WORD = re.compile(r"^\w+$")
# words that say nothing about a fault; single CJK function characters are dropped by length
STOPWORDS = frozenset(
    {
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "后",
        "时",
        "把",
        "被",
        "有",
        "无",
        "不",
        "也",
        "就",
        "都",
        "一个",
        "问题",
        "出现",
        "怎么",
        "怎么办",
        "如何",
        "什么",
        "为什么",
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "on",
        "is",
        "are",
        "and",
        "or",
        "not",
        "for",
        "with",
        "after",
        "how",
        "what",
        "why",
    }
)
# terms of the trade jieba's general dictionary splits badly; kept whole (and cut_for_search
# still yields their parts)
TRADE_WORDS = (
    "卡纸",
    "硒鼓",
    "定影器",
    "进纸器",
    "交换机",
    "路由器",
    "防火墙",
    "光模块",
    "蓝屏",
    "死机",
    "重启",
    "掉线",
    "丢包",
    "环路",
    "风扇",
    "电源模块",
    "硬盘",
    "阵列卡",
    "背板",
    "固件",
    "驱动",
    "补丁",
    "内存条",
    "网卡",
    "光纤",
    "端口",
    "告警",
    "宕机",
    "双机热备",
    "虚拟机",
    "数据库",
    "打印机",
    "复印机",
    "投影仪",
    "服务器",
    "存储",
    "ups",
)

_lock = threading.Lock()
_ready = False


def _jieba() -> Any:
    """jieba, its dictionary loaded once per process (about a second, then cached)."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in TRADE_WORDS:
                    jieba.add_word(word, freq=20000)
                _ready = True
    return jieba


def terms(text: str | None) -> list[str]:
    """The search terms of ``text`` in order (repeats kept: they weigh in ranking)."""
    if not text:
        return []
    found = []
    for token in _jieba().cut_for_search(text.lower()):
        token = token.strip()
        if not token or len(token) > MAX_TERM or not WORD.match(token):
            continue
        if token in STOPWORDS or token == "_":
            continue
        found.append(token)
    return found


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order, at most ``MAX_QUERY_TERMS``, without the
    shorter words inside a longer one ("打印机" keeps 打印机, drops 打印 and 印机): the index
    holds them beside every longer word, so they would match nothing more, and cost an index
    list each (a short word's list is the longest)."""
    seen: dict[str, None] = {}
    for term in terms(query):
        seen.setdefault(term, None)
    distinct = list(seen)
    kept = [t for t in distinct if not any(t != other and t in other for other in distinct)]
    return kept[:MAX_QUERY_TERMS]


def indexed(texts: Iterable[str | None]) -> str:
    """What the index holds for these texts: their terms, space-separated and space-padded
    (`` 打印 打印机 卡纸 ``), so every term has a space on each side."""
    words = [term for text in texts for term in terms(text)]
    return f" {' '.join(words)} " if words else ""


def facet(kind: str, value: str) -> str:
    """A term that says who may see an entry, or its model or category (``kind``: ``v``
    visibility, ``c`` customer, ``m`` model, ``k`` category): letters and digits only, so
    both indexes keep it whole, and never a word of Chinese or English text. The search
    ANDs it with the words, so one index scan answers "these words, for this customer" on
    a million entries (a filter after the scan would read every match)."""
    digest = hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:16]
    return f"zzkb{kind}{digest}"


def fts5_match(
    words: Iterable[str], *, every: bool = False, facets: Iterable[Iterable[str]] = ()
) -> str:
    """An FTS5 MATCH expression: any (or every) term, each as a whole padded term (the
    trigram tokenizer needs three characters: `` 卡纸 `` has four); and, for each group of
    ``facets``, one of its terms."""
    text = "(" + (" AND " if every else " OR ").join(f'" {word} "' for word in words) + ")"
    for group in facets:
        text += " AND (" + " OR ".join(f'" {term} "' for term in group) + ")"
    return text


def tsquery(
    words: Iterable[str], *, every: bool = False, facets: Iterable[Iterable[str]] = ()
) -> str:
    """A PostgreSQL tsquery text over the ``simple`` configuration: any (or every) term,
    and one term of each group of ``facets``. Terms are ``\\w+`` only, so quoting them is
    enough."""
    text = "(" + (" & " if every else " | ").join(f"'{word}'" for word in words) + ")"
    for group in facets:
        text += " & (" + " | ".join(f"'{term}'" for term in group) + ")"
    return text
