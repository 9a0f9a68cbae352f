"""Links to the case page in alerts: core.notify.case_link / with_case_links, the setting."""

from __future__ import annotations

import pytest

from core.notify import Notice, Recipient, case_link, with_case_links
from core.settings import Settings, SettingsError


def notice(**variables: object) -> Notice:
    return Notice(
        idempotency_key="k",
        channel="email",
        recipient=Recipient(name="王工", email="w@example.cn"),
        template="clock_warning",
        variables=dict(variables),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("base", "number", "link"),
    [
        (
            "https://desk.example.cn",
            "MS-2026-000001",
            "https://desk.example.cn/console/cases/MS-2026-000001",
        ),
        ("https://desk.example.cn/", "MS-1", "https://desk.example.cn/console/cases/MS-1"),
        ("http://10.0.0.5:8000/ct", "MS-1", "http://10.0.0.5:8000/ct/console/cases/MS-1"),
        (
            "https://d.example",
            "A/B?c#d 工",
            "https://d.example/console/cases/A%2FB%3Fc%23d%20%E5%B7%A5",
        ),
        ("", "MS-1", ""),
    ],
)
def test_case_link_quotes_the_number_under_the_public_url(
    base: str, number: str, link: str
) -> None:
    assert case_link(base, number) == link


def test_with_case_links_fills_each_notice_and_digest_item_that_names_a_case() -> None:
    digest = Notice(
        idempotency_key="d",
        channel="email",
        recipient=Recipient(name="x"),
        template="digest",
        variables={"count": 2},
        items=[{"case_number": "MS-1"}, {"case_number": "MS-2", "link": "https://kept"}],
    )
    linked = with_case_links(digest, "https://desk.example.cn")
    assert "link" not in linked.variables  # the digest itself names no case
    assert [item["link"] for item in linked.items] == [
        "https://desk.example.cn/console/cases/MS-1",
        "https://kept",  # a link already there is kept
    ]
    one = with_case_links(notice(case_number="MS-9"), "https://desk.example.cn")
    assert one.variables["link"] == "https://desk.example.cn/console/cases/MS-9"
    assert with_case_links(notice(case_number="MS-9"), "") == notice(case_number="MS-9")


@pytest.mark.parametrize("bad", ["desk.example.cn", "ftp://x", "https://x/?q=1", "https://a b"])
def test_a_public_url_that_is_not_http_is_refused_naming_the_variable(bad: str) -> None:
    with pytest.raises(SettingsError, match="CASETRACK_PUBLIC_URL"):
        Settings.from_env({"CASETRACK_PUBLIC_URL": bad})


def test_a_public_url_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"CASETRACK_PUBLIC_URL": "https://desk.example.cn"})
    assert settings.public_url == "https://desk.example.cn"
