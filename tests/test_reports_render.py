"""A report as CSV, HTML (SVG charts, nothing fetched) and a PDF whose text is Chinese in CJK
fonts. The report is built once over the fixture on SQLite (rendering never touches a store)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from core.reports import render
from core.reports.build import Customer, build_report
from core.reports.model import Report
from core.reports.period import parse_period
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade
from report_fixture import HOSPITAL, NOW, known

NAME = "威海市文登区康宁医院"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('render') / 'r.db'}")
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        known().load(session.connection())
    with make_sessionmaker(engine)() as session:
        customer = Customer(HOSPITAL, "wdkn-hospital", NAME)
        yield build_report(session, customer, parse_period("2026Q3", "Asia/Shanghai"), now=NOW)
    engine.dispose()


@pytest.fixture(scope="module")
def pdf(report: Report) -> bytes:
    return render.to_pdf(report)


def test_json_round_trips_to_the_same_report(report: Report) -> None:
    assert msgspec.json.decode(render.to_json(report), type=Report) == report


def test_csv_zip_has_one_table_per_section(report: Report) -> None:
    with zipfile.ZipFile(io.BytesIO(render.to_csv_zip(report))) as archive:
        names = set(archive.namelist())
        assert {
            "statistics.csv",
            "major_cases.csv",
            "sla.csv",
            "percentiles.csv",
            "rma.csv",
            "first_time_fix.csv",
            "exclusions.csv",
            "satisfaction.csv",
        } == names
        text = archive.read("statistics.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    zone = {r["key"]: int(r["cases"]) for r in rows if r["dimension"] == "zone"}
    assert zone == {"市内": 3, "文登": 1, "(none)": 1}


def test_html_has_every_section_and_charts_and_fetches_nothing(report: Report) -> None:
    page = render.to_html(report)
    for title in render.TITLES.values():
        assert title in page
    assert page.count("<svg") >= 5
    assert NAME in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_the_major_cases_timeline_names_its_steps_in_both_languages(report: Report) -> None:
    page = render.to_html(report)
    steps = page.split('<table class="timeline">', 1)[1].split("</table>", 1)[0]
    assert "首次响应 First response" in steps and "工程师到场 Engineer on site" in steps
    assert "first_response" not in steps and "onsite_arrived" not in steps
    rows = list(
        csv.DictReader(
            io.StringIO(render.csv_tables(report)["major_cases.csv"].decode("utf-8-sig"))
        )
    )
    kinds = {r["kind"]: r["step"] for r in rows}  # the stored kind stays for machines
    assert kinds["first_response"] == "首次响应 First response"
    assert kinds["opened"] == "受理 Case opened"


def test_html_escapes_what_the_cases_say(report: Report) -> None:
    case = msgspec.structs.replace(report.major_cases[0], summary="<script>x</script>")
    page = render.to_html(msgspec.structs.replace(report, major_cases=[case]))
    assert "<script>x" not in page
    assert "&lt;script&gt;x" in page


def _pdf_text(pdf: bytes, tmp: Path) -> str:
    if shutil.which("pdftotext"):
        (tmp / "r.pdf").write_bytes(pdf)
        subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp / "r.pdf")], check=True)
        return (tmp / "r.txt").read_text("utf-8")
    import pypdf

    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_text_has_the_chinese_name_and_section_titles(pdf: bytes, tmp_path: Path) -> None:
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf, tmp_path)
    assert NAME in text
    for title in render.TITLES.values():
        assert title.split(" ")[0] in text  # the Chinese half of each section title


def test_pdf_embeds_cjk_fonts(pdf: bytes) -> None:
    import pypdf

    fonts: set[str] = set()
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            fonts.add(str(font["/BaseFont"]))
            descendants = font.get("/DescendantFonts")
            for child in descendants or []:
                assert (
                    "/FontFile2" in child.get_object()["/FontDescriptor"]
                    or "/FontFile3" in (child.get_object()["/FontDescriptor"])
                )  # embedded, not referenced
    assert any("CJK" in name for name in fonts), fonts
