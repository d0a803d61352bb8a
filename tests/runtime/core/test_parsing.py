"""Specification of document parsing: what each format yields, and how bad files are refused."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx
import pytest
from chorus.runtime.core.errors import BadRequest, UnsupportedDocument
from chorus.runtime.core.parsing import (
    SUPPORTED_EXTENSIONS,
    ParsedDocument,
    parse_document,
    safe_document_name,
)
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4560000000049454e44ae426082"
)


# ---------------------------------------------------------------------------- fixtures


def make_pdf(tmp_path: Path, pages: list[str], *, title: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    path = tmp_path / "doc.pdf"
    pdf.output(str(path))
    return path.read_bytes()


def make_docx(tmp_path: Path) -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew in every region.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Region"
    table.cell(0, 1).text = "Revenue"
    table.cell(1, 0).text = "EMEA"
    table.cell(1, 1).text = "42"
    document.add_paragraph("Outlook is stable.")
    path = tmp_path / "report.docx"
    document.save(str(path))
    return path.read_bytes()


HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>  Pricing
  plans </title><style>body { color: red }</style>
<script>var secret = "tracking";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About us</a></nav>
<!-- a comment nobody should index -->
<h1>Plans</h1>
<p>The basic plan
   costs   ten dollars.</p>
<p>The pro plan<br>adds support.</p>
<ul><li>Monthly</li><li>Yearly</li></ul>
<script>console.log("late script")</script>
</body></html>"""


# ---------------------------------------------------------------------------- plain text


def test_txt_returns_the_text_as_plain_text() -> None:
    parsed = parse_document("notes.txt", b"Hello world.\n\nSecond paragraph.\n")

    assert parsed == ParsedDocument(
        text="Hello world.\n\nSecond paragraph.",
        content_type="text/plain",
        title=None,
        metadata={"encoding": "utf-8"},
    )


def test_whitespace_runs_collapse_but_paragraph_breaks_stay() -> None:
    data = b"one   two\t\tthree  \r\n\r\n\r\n\r\nfour \xc2\xa0 five\n"

    assert parse_document("a.txt", data).text == "one two three\n\nfour five"


def test_nul_characters_inside_extracted_text_are_stripped() -> None:
    assert parse_document("a.json", b'{"a": "x\\u0000y"}').text == "a: xy"


def test_utf8_byte_order_mark_is_dropped() -> None:
    parsed = parse_document("bom.txt", "\ufeffCafé".encode())

    assert parsed.text == "Café"
    assert parsed.metadata["encoding"] == "utf-8"


def test_latin1_text_is_decoded_with_a_western_codepage() -> None:
    data = "Café au lait, naïve façade, Ærø.".encode("latin-1")

    parsed = parse_document("legacy.txt", data)

    assert parsed.text == "Café au lait, naïve façade, Ærø."
    assert parsed.metadata["encoding"] in {"cp1252", "latin-1"}


def test_utf16_with_byte_order_mark_is_text_not_binary() -> None:
    parsed = parse_document("windows.txt", "Hello from Notepad".encode("utf-16"))

    assert parsed.text == "Hello from Notepad"


def test_a_nul_byte_in_a_text_file_means_binary() -> None:
    with pytest.raises(UnsupportedDocument, match="binary content"):
        parse_document("log.txt", b"mostly text\x00but not quite")


def test_binary_bytes_named_txt_are_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="binary content"):
        parse_document("image.txt", PNG_BYTES)


def test_control_characters_without_nul_are_refused_as_binary() -> None:
    data = bytes(range(1, 9)) * 50 + b"some text"

    with pytest.raises(UnsupportedDocument, match="binary content"):
        parse_document("weird.txt", data)


# ---------------------------------------------------------------------------- markdown


def test_markdown_keeps_its_markup_and_takes_the_first_heading_as_title() -> None:
    data = b"Intro line\n\n# Getting started\n\n- step one\n    - nested step\n"

    parsed = parse_document("guide.md", data)

    assert parsed.content_type == "text/markdown"
    assert parsed.title == "Getting started"
    assert parsed.text == "Intro line\n\n# Getting started\n\n- step one\n    - nested step"


def test_markdown_heading_inside_a_code_fence_is_not_the_title() -> None:
    data = b"```python\n# not a heading\n```\n\nSetup guide\n===========\n"

    assert parse_document("guide.markdown", data).title == "Setup guide"


def test_markdown_front_matter_title_wins() -> None:
    data = b"---\ntitle: 'Release notes'\n---\n\n# Version 2\n"

    assert parse_document("notes.md", data).title == "Release notes"


# ---------------------------------------------------------------------------- html


def test_html_title_comes_from_the_title_element() -> None:
    assert parse_document("page.html", HTML_PAGE).title == "Pricing plans"


def test_html_drops_scripts_styles_navigation_and_comments() -> None:
    text = parse_document("page.html", HTML_PAGE).text

    for hidden in ("tracking", "late script", "color: red", "About us", "comment", "DOCTYPE"):
        assert hidden not in text


def test_html_keeps_readable_text_with_paragraph_breaks() -> None:
    parsed = parse_document("page.htm", HTML_PAGE)

    assert parsed.content_type == "text/html"
    assert parsed.text == (
        "Plans\n\nThe basic plan costs ten dollars.\n\nThe pro plan\nadds support.\n\n"
        "Monthly\nYearly"
    )


def test_html_without_a_title_element_uses_the_first_h1() -> None:
    data = b"<html><body><h1>Team <em>handbook</em></h1><p>Welcome.</p></body></html>"

    assert parse_document("handbook.html", data).title == "Team handbook"


def test_html_with_only_a_script_is_refused_as_empty() -> None:
    with pytest.raises(UnsupportedDocument, match="no text"):
        parse_document("app.html", b"<html><body><script>boot()</script></body></html>")


# ---------------------------------------------------------------------------- pdf


def test_pdf_pages_are_joined_with_blank_lines_and_counted(tmp_path: Path) -> None:
    data = make_pdf(tmp_path, ["First page text.", "Second page text.", "Third page."])

    parsed = parse_document("doc.pdf", data)

    assert parsed.content_type == "application/pdf"
    assert parsed.text == "First page text.\n\nSecond page text.\n\nThird page."
    assert parsed.metadata == {"pages": 3}


def test_pdf_title_comes_from_its_document_info(tmp_path: Path) -> None:
    data = make_pdf(tmp_path, ["Body."], title="Annual report")

    assert parse_document("doc.pdf", data).title == "Annual report"


def test_png_bytes_named_pdf_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDocument, match="not a PDF"):
        parse_document("scan.pdf", PNG_BYTES)


def test_truncated_pdf_is_refused(tmp_path: Path) -> None:
    data = make_pdf(tmp_path, ["Some text on a page."] * 3)

    with pytest.raises(UnsupportedDocument, match="truncated"):
        parse_document("cut.pdf", data[: len(data) // 2])


def test_corrupt_pdf_body_is_refused_without_a_library_exception() -> None:
    data = b"%PDF-1.7\n" + b"garbage " * 100 + b"\n%%EOF\n"

    with pytest.raises(UnsupportedDocument, match=r"broken\.pdf"):
        parse_document("broken.pdf", data)


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(tmp_path, ["Secret."]))))
    writer.encrypt(user_password="hunter2", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)

    with pytest.raises(UnsupportedDocument, match="needs a password"):
        parse_document("secret.pdf", out.getvalue())


def test_pdf_encrypted_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(tmp_path, ["Open text."]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)

    assert parse_document("locked.pdf", out.getvalue()).text == "Open text."


def test_pdf_without_text_says_it_needs_ocr(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    path = tmp_path / "blank.pdf"
    pdf.output(str(path))

    with pytest.raises(UnsupportedDocument, match="OCR"):
        parse_document("scan.pdf", path.read_bytes())


# ---------------------------------------------------------------------------- docx


def test_docx_yields_paragraphs_and_table_rows_in_order(tmp_path: Path) -> None:
    parsed = parse_document("report.docx", make_docx(tmp_path))

    assert parsed.text == (
        "Quarterly report\n\nRevenue grew in every region.\n\n"
        "Region | Revenue\nEMEA | 42\n\nOutlook is stable."
    )


def test_docx_title_and_counts(tmp_path: Path) -> None:
    parsed = parse_document("report.docx", make_docx(tmp_path))

    assert parsed.content_type.endswith("wordprocessingml.document")
    assert parsed.title == "Quarterly report"
    assert parsed.metadata == {"paragraphs": 3, "tables": 1}


def test_zip_without_word_document_named_docx_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word file")

    with pytest.raises(UnsupportedDocument, match=r"word/document\.xml"):
        parse_document("fake.docx", buffer.getvalue())


def test_non_zip_bytes_named_docx_are_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="not a zip"):
        parse_document("fake.docx", b"just some text pretending")


def test_docx_with_a_corrupt_body_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not-xml")

    with pytest.raises(UnsupportedDocument, match="could not read"):
        parse_document("corrupt.docx", buffer.getvalue())


# ---------------------------------------------------------------------------- csv


def test_csv_rows_become_self_describing_lines() -> None:
    data = b"name,city,age\nAda,London,36\nAlan,,41\n"

    parsed = parse_document("people.csv", data)

    assert parsed.text == "name: Ada; city: London; age: 36\nname: Alan; age: 41"
    assert parsed.metadata["columns"] == ["name", "city", "age"]
    assert parsed.metadata["rows"] == 2


def test_csv_delimiter_is_sniffed() -> None:
    data = "produit;prix\nCafé;2,50\nThé;3,00\n".encode()

    parsed = parse_document("menu.csv", data)

    assert parsed.text == "produit: Café; prix: 2,50\nproduit: Thé; prix: 3,00"
    assert parsed.metadata["delimiter"] == ";"


def test_csv_quoted_newlines_stay_on_their_row() -> None:
    data = b'id,comment\n1,"first line\nsecond line"\n'

    assert parse_document("c.csv", data).text == "id: 1; comment: first line second line"


def test_csv_with_only_a_header_is_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="no data rows"):
        parse_document("empty.csv", b"a,b,c\n")


# ---------------------------------------------------------------------------- json


def test_json_is_flattened_into_path_value_lines() -> None:
    data = json.dumps(
        {"name": "chorus", "owner": {"team": "ml", "active": True}, "tags": ["rag", None]}
    ).encode()

    parsed = parse_document("meta.json", data)

    assert parsed.content_type == "application/json"
    assert parsed.text == (
        "name: chorus\nowner.team: ml\nowner.active: true\ntags[0]: rag\ntags[1]: null"
    )


def test_json_array_records_become_paragraphs() -> None:
    data = json.dumps([{"q": "What?", "a": "This."}, {"q": "Why?", "a": "Because."}]).encode()

    parsed = parse_document("faq.json", data)

    assert parsed.text == "q: What?\na: This.\n\nq: Why?\na: Because."
    assert parsed.metadata["records"] == 2


def test_invalid_json_is_refused_with_its_position() -> None:
    with pytest.raises(UnsupportedDocument, match="line 2 column"):
        parse_document("bad.json", b'{"a": 1,\n oops}')


@pytest.mark.parametrize("name", ["deep.json", "deep.jsonl"])
@pytest.mark.parametrize("data", [b"[" * 10_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000])
def test_deeply_nested_json_is_refused_without_a_recursion_error(name, data) -> None:
    with pytest.raises(UnsupportedDocument, match="nests deeper than") as refused:
        parse_document(name, data)
    assert "Recursion" not in refused.value.message


def test_json_nested_within_the_bound_is_indexed() -> None:
    parsed = parse_document("ok.json", b'{"a":' * 150 + b'"deep"' + b"}" * 150)
    assert parsed.text.endswith(": deep")


def test_empty_json_document_is_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="empty"):
        parse_document("nothing.json", b"{}")


def test_jsonl_lines_become_paragraphs() -> None:
    data = b'{"id": 1, "text": "one"}\n\n{"id": 2, "text": "two"}\n'

    parsed = parse_document("rows.jsonl", data)

    assert parsed.text == "id: 1\ntext: one\n\nid: 2\ntext: two"
    assert parsed.metadata["records"] == 2


def test_jsonl_names_the_bad_line() -> None:
    with pytest.raises(UnsupportedDocument, match="line 2"):
        parse_document("rows.jsonl", b'{"id": 1}\n{broken\n')


# ---------------------------------------------------------------------------- refusals


def test_unknown_extension_is_refused_and_lists_what_is_supported() -> None:
    with pytest.raises(UnsupportedDocument, match=r"unsupported file type.*\.pdf") as caught:
        parse_document("archive.tar.gz", b"data")

    assert caught.value.code == "unsupported_document"


def test_file_without_an_extension_is_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="no extension"):
        parse_document("README", b"text")


def test_empty_file_is_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="empty"):
        parse_document("empty.txt", b"")


def test_whitespace_only_file_is_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="empty"):
        parse_document("blank.md", b" \n\t\n ")


def test_oversize_file_is_refused_before_parsing() -> None:
    with pytest.raises(UnsupportedDocument, match="too large"):
        parse_document("big.txt", b"x" * 101, max_bytes=100)


def test_extension_is_case_insensitive_and_the_message_names_the_file() -> None:
    assert parse_document("docs/NOTES.TXT", b"hi").content_type == "text/plain"
    with pytest.raises(UnsupportedDocument, match=r"^photo\.png: "):
        parse_document("uploads/photo.png", PNG_BYTES)


def test_supported_extensions_cover_the_documented_formats() -> None:
    documented = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".csv", ".json"}

    assert documented <= SUPPORTED_EXTENSIONS


# ---------------------------------------------------------------------------- upload names


def test_safe_document_name_keeps_an_ordinary_name() -> None:
    assert safe_document_name("  Quarterly report (v2).pdf ") == "Quarterly report (v2).pdf"


def test_safe_document_name_normalises_unicode_to_nfc() -> None:
    assert safe_document_name("Cafe\u0301.md") == "Caf\u00e9.md"


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "..",
        ".",
        "/etc/passwd",
        "docs/report.pdf",
        "..\\..\\windows\\system.ini",
        "C:report.pdf",
        "report\x00.pdf",
        "report\n.pdf",
        "evil\u202etxt.exe",
        "",
        "   ",
        "a" * 256,
        "é" * 128,
    ],
)
def test_safe_document_name_refuses_unsafe_names(name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        safe_document_name(name)

    assert caught.value.code == "bad_request"


def test_safe_document_name_accepts_255_bytes() -> None:
    assert safe_document_name("a" * 251 + ".txt") == "a" * 251 + ".txt"
