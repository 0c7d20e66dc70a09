"""Documents in: Markdown, plain text, HTML (main content only) and PDF, as paragraphs under headings.

`extract` turns an uploaded file into `Paragraph`s, each with the path of headings above it,
which is what `chunking` packs into chunks. Unknown types are `UnsupportedFormat` (415); files
that cannot be read as what they claim to be are `UnreadableDocument` (422).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from chatkiosk.errors import UserError, ValidationFailed

FORMATS = ("markdown", "text", "html", "pdf")
_SUFFIXES = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
    ".txt": "text", ".text": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf",
}
_CONTENT_TYPES = {
    "text/markdown": "markdown", "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/html": "html", "application/xhtml+xml": "html",
    "application/pdf": "pdf",
}


class UnsupportedFormat(UserError):
    """A file type the knowledge base does not read (415)."""

    status_code = 415
    code = "unsupported_media_type"


class UnreadableDocument(ValidationFailed):
    """A file that is not what it claims to be, or holds no text (422)."""

    code = "unreadable_document"


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph (or list item, table row, code block) and the headings above it."""

    headings: tuple[str, ...]
    text: str


@dataclass(slots=True)
class Extracted:
    """What a file holds: its format, a title found inside it (if any), its paragraphs."""

    format: str
    title: str | None
    paragraphs: list[Paragraph] = field(default_factory=list)


def detect_format(filename: str | None, content_type: str | None) -> str:
    """The format of an upload, from its file name first, then its content type."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime]
    shown = suffix or mime or "unknown"
    raise UnsupportedFormat(
        f"unsupported file type {shown!r}: upload Markdown (.md), text (.txt), HTML (.html) or PDF (.pdf)",
        param="file",
    )


def decode_text(data: bytes) -> str:
    """Bytes as text: UTF-8 (with or without BOM), UTF-16 with a BOM, else CP949/GB18030 (Korean/Chinese)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableDocument("the file is not valid UTF-16 text", param="file") from None
    if b"\x00" in data[:4096]:
        raise UnreadableDocument("the file is binary, not text", param="file")
    for encoding in ("utf-8", "cp949", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument("the file is not valid UTF-8 text", param="file")


def clean_space(text: str) -> str:
    """Whitespace runs as one space, trimmed."""
    return re.sub(r"\s+", " ", text).strip()


def _markdown(text: str) -> Extracted:
    heading_path: list[tuple[int, str]] = []
    paragraphs: list[Paragraph] = []
    title: str | None = None
    buffer: list[str] = []
    in_fence = False

    def headings() -> tuple[str, ...]:
        return tuple(h for _, h in heading_path)

    def flush() -> None:
        if buffer:
            body = "\n".join(buffer).strip() if in_fence or buffer[0].startswith("```") else clean_space(" ".join(buffer))
            if body:
                paragraphs.append(Paragraph(headings(), body))
            buffer.clear()

    def set_heading(level: int, name: str) -> None:
        nonlocal title
        name = clean_space(name.strip("#").strip())
        if not name:
            return
        if level == 1 and title is None:
            title = name
        while heading_path and heading_path[-1][0] >= level:
            heading_path.pop()
        heading_path.append((level, name))

    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            if in_fence:
                buffer.append(line)
                in_fence = False
                flush()
            else:
                flush()
                in_fence = True
                buffer.append(line)
            continue
        if in_fence:
            buffer.append(line)
            continue
        atx = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if atx:
            flush()
            set_heading(len(atx.group(1)), atx.group(2))
            continue
        if buffer and len(buffer) == 1 and re.fullmatch(r"=+|-+", stripped) and len(stripped) >= 2:
            name = buffer.pop()
            set_heading(1 if stripped[0] == "=" else 2, name)
            continue
        if not stripped:
            flush()
            continue
        if re.match(r"^([-*+]|\d+[.)])\s+", stripped) and buffer:
            flush()  # each list item is its own paragraph
        buffer.append(re.sub(r"^([-*+]|\d+[.)])\s+", "", stripped) if not stripped.startswith("|") else stripped)
    in_fence = False
    flush()
    return Extracted("markdown", title, paragraphs)


def _text(text: str) -> Extracted:
    paragraphs = [Paragraph((), clean_space(block)) for block in re.split(r"\n\s*\n", text) if block.strip()]
    first = paragraphs[0].text if paragraphs else None
    title = first if first and len(first) <= 80 else None
    return Extracted("text", title, paragraphs)


def extract(data: bytes, fmt: str) -> Extracted:
    """The paragraphs of a file of format `fmt`; `UnreadableDocument` when it holds no text."""
    if fmt == "markdown":
        found = _markdown(decode_text(data))
    elif fmt == "text":
        found = _text(decode_text(data))
    elif fmt == "html":
        from chatkiosk.knowledge._html import extract_html

        found = extract_html(data)
    elif fmt == "pdf":
        from chatkiosk.knowledge._pdf import extract_pdf

        found = extract_pdf(data)
    else:
        raise UnsupportedFormat(f"unsupported format {fmt!r}", param="file")
    if not any(p.text for p in found.paragraphs):
        raise UnreadableDocument("the file holds no text to index", param="file")
    return found
