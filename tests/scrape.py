"""Reading a /metrics answer in tests: the Prometheus text parsed by prometheus_client."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, frozenset[tuple[str, str]]]


def samples(text: str) -> dict[Key, float]:
    """Every sample: (name, labels) → value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample ``name{labels}`` (exactly those labels), or None when absent."""
    return samples(text).get((name, frozenset(labels.items())))


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples(text).items() if n == name and wanted <= set(have))


def exposed(text: str) -> set[str]:
    """The series names a query may use: each family's samples' names, and for a family
    announced without samples yet, the names its type produces."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(s.name for s in family.samples)
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_sum", "_count"],
            "summary": ["_sum", "_count", ""],
        }.get(family.type, [""])
        names.update(family.name + suffix for suffix in suffixes)
    return names
