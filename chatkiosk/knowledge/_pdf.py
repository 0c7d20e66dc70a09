"""PDF text in reading order through pdfium (keeps Korean and Chinese characters intact)."""

from __future__ import annotations

import re

import pypdfium2 as pdfium

from chatkiosk.knowledge.formats import Extracted, Paragraph, UnreadableDocument, clean_space

MAX_PAGES = 2000


def extract_pdf(data: bytes) -> Extracted:
    """Paragraphs of every page; each page's paragraphs sit under the heading "p. N"."""
    if not data.startswith(b"%PDF"):
        raise UnreadableDocument("the file is not a PDF", param="file")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise UnreadableDocument(f"the PDF cannot be read ({exc})", param="file") from None
    try:
        metadata_title = clean_space((pdf.get_metadata_dict() or {}).get("Title", "")) or None
        if metadata_title and metadata_title.lower() in ("untitled", "anonymous", "document"):
            metadata_title = None  # what PDF writers put when nobody gave a title
        paragraphs: list[Paragraph] = []
        for number in range(min(len(pdf), MAX_PAGES)):
            page = pdf[number]
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
            finally:
                textpage.close()
                page.close()
            for block in _blocks(text):
                paragraphs.append(Paragraph((f"p. {number + 1}",), block))
    finally:
        pdf.close()
    return Extracted("pdf", metadata_title, paragraphs)


def _blocks(text: str) -> list[str]:
    # pdfium gives lines (no blank ones between paragraphs): a line that ends a sentence ends a
    # paragraph, other lines were wrapped and join the next. The chunker packs sentences again.
    blocks: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            if current:
                blocks.append(clean_space(" ".join(current)))
                current = []
            continue
        current.append(stripped)
        if re.search(r"[.!?。！？:：]$", stripped):
            blocks.append(clean_space(" ".join(current)))
            current = []
    if current:
        blocks.append(clean_space(" ".join(current)))
    return [b for b in blocks if b]
