"""Every format in: Markdown, text, HTML (main content only), PDF (ko/zh/en intact); bad files out."""

from __future__ import annotations

import pytest

from chatkiosk.knowledge.chunking import chunk_paragraphs
from chatkiosk.knowledge.formats import UnreadableDocument, UnsupportedFormat, decode_text, detect_format, extract

from .documents import EN_LINE, HTML, KO_LINE, MARKDOWN, TEXT, ZH_LINE, pdf_bytes


def test_format_from_name_then_content_type():
    assert detect_format("a.MD", None) == "markdown"
    assert detect_format("page.htm", "application/octet-stream") == "html"
    assert detect_format("blob", "application/pdf") == "pdf"
    assert detect_format(None, "text/plain; charset=utf-8") == "text"
    with pytest.raises(UnsupportedFormat) as refused:
        detect_format("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert refused.value.status_code == 415 and ".docx" in refused.value.message


def test_markdown_keeps_heading_paths_and_title():
    found = extract(MARKDOWN, "markdown")
    assert found.title == "Returns handbook"
    chunks = chunk_paragraphs(found.paragraphs)
    assert [c.heading for c in chunks] == ["Returns handbook", "Returns handbook > Refund period", "Returns handbook > Parcel lockers"]
    assert "within 7 days" in chunks[1].text and "locker" not in chunks[1].text


def test_markdown_setext_headings_code_fences_and_lists():
    text = "Title\n=====\n\nIntro.\n\nPart\n----\n\n- one\n- two\n\n```python\ndef f():\n    return 1\n```\n"
    found = extract(text.encode(), "markdown")
    assert found.title == "Title"
    assert [(p.headings, p.text) for p in found.paragraphs] == [
        (("Title",), "Intro."), (("Title", "Part"), "one"), (("Title", "Part"), "two"),
        (("Title", "Part"), "```python\ndef f():\n    return 1\n```"),
    ]


def test_plain_text_paragraphs():
    found = extract(TEXT, "text")
    assert found.title == "Warehouse notes"
    assert [p.text for p in found.paragraphs][1].startswith("The loading dock opens")
    assert decode_text("환불 안내".encode("cp949")) == "환불 안내"  # legacy Korean encoding


def test_html_main_content_only():
    found = extract(HTML, "html")
    text = " ".join(p.text for p in found.paragraphs)
    assert found.title == "Care guide"
    assert "Wash wool sweaters by hand in cold water" in text and "condition them every month" in text
    for furniture in ("cookies", "Menu entry", "Home", "Related products", "Copyright"):
        assert furniture not in text
    assert [p.headings for p in found.paragraphs] == [("Care guide",), ("Care guide", "Leather")]


def test_html_without_main_uses_the_body_minus_furniture():
    page = b"<html><body><div class='navbar'>Login</div><h2>FAQ</h2><div>Loose text <i>inline</i> here<p>A paragraph.</p></div></body></html>"
    found = extract(page, "html")
    assert [(p.headings, p.text) for p in found.paragraphs] == [(("FAQ",), "Loose text inline here"), (("FAQ",), "A paragraph.")]


def test_pdf_keeps_korean_and_chinese_characters():
    found = extract(pdf_bytes([[KO_LINE, ZH_LINE], [EN_LINE]]), "pdf")
    texts = [p.text for p in found.paragraphs]
    assert texts == [KO_LINE, ZH_LINE, EN_LINE]
    assert [p.headings for p in found.paragraphs] == [("p. 1",), ("p. 1",), ("p. 2",)]


@pytest.mark.parametrize(("data", "fmt"), [
    (b"%PDF-1.7 this is not really a pdf", "pdf"),
    (b"plain bytes", "pdf"),
    (b"\x00\x01\x02binary\x00" * 10, "markdown"),
    (b"\xff\xfe\x00", "text"),
    (b"   \n\n  ", "text"),
    (b"<html><body><nav>only navigation</nav></body></html>", "html"),
])
def test_unreadable_files_are_422(data, fmt):
    with pytest.raises(UnreadableDocument) as refused:
        extract(data, fmt)
    assert refused.value.status_code == 422 and refused.value.param == "file"
