"""Chinese and English messages: a catalog per language (web/messages/*.yaml), the language
chosen from the ``ct_lang`` cookie (the switch), else Accept-Language, else the setting."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.event_labels import label

LANGUAGES = ("zh", "en")
LANG_COOKIE = "ct_lang"
MESSAGES = Path(__file__).resolve().parent / "messages"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of one language, read once."""
    data = yaml.safe_load((MESSAGES / f"{lang}.yaml").read_text(encoding="utf-8"))
    return {str(key): str(value) for key, value in data.items()}


def from_accept_language(header: str) -> str | None:
    """The first of zh/en the header prefers (by q, then order), or None."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else None


def choose(cookie: str | None, accept_language: str, default: str) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    return from_accept_language(accept_language) or default


class Translator:
    """``t("key", name=...)``: the message in this language (English, then the key itself,
    when missing)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: Any) -> str:
        text = catalog(self.lang).get(key) or catalog("en").get(key) or key
        return text.format(**values) if values else text

    def event(self, kind: str) -> str:
        """An event kind as people read it in this language (the one vocabulary of
        core/event_labels.py, shared with the customer reports)."""
        return label(kind, self.lang)
