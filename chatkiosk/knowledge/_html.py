"""HTML's main content as paragraphs: navigation, header, footer, asides and cookie banners dropped."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from chatkiosk.knowledge.formats import Extracted, Paragraph, UnreadableDocument, clean_space

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "form", "nav", "header", "footer",
              "aside", "button", "select", "dialog", "menu")
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog", "search", "menu"}
# Class or id words that mark page furniture rather than content.
_FURNITURE = re.compile(
    r"(^|[\s_-])(cookies?|consent|gdpr|banner|navbar|nav|navigation|menu|sidebar|footer|breadcrumbs?|"
    r"advert|ads|popup|modal|newsletter|social|share|skip-link|site-header|masthead)($|[\s_-])",
    re.I,
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {"html", "body", "p", "li", "pre", "blockquote", "dd", "dt", "tr", "figcaption", "caption", "td", "th", "div", "section", "article", "main", "table", "ul", "ol", "dl"}
_LEAF_BLOCKS = {"html", "body", "p", "li", "pre", "blockquote", "dd", "dt", "tr", "figcaption", "caption"}


def _is_furniture(element: etree._Element) -> bool:
    if element.get("role", "").lower() in _DROP_ROLES or element.get("aria-hidden") == "true" or element.get("hidden") is not None:
        return True
    words = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(words.strip()) and bool(_FURNITURE.search(words))


def _main_root(body: etree._Element) -> etree._Element:
    for xpath in ("//main", "//*[@role='main']", "//article"):
        found = body.xpath(xpath)
        if found:
            return max(found, key=lambda e: len(e.text_content()))
    return body


def extract_html(data: bytes) -> Extracted:
    """The main content of an HTML page as paragraphs under their headings."""
    try:
        document = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise UnreadableDocument(f"the HTML cannot be parsed: {exc}", param="file") from None
    title_text = clean_space(" ".join(document.xpath("//title//text()"))) or None
    for element in list(document.iter(etree.Element)):
        if element.getparent() is None:
            continue
        if (isinstance(element.tag, str) and element.tag in _DROP_TAGS) or _is_furniture(element):
            if element.tag != "body" and element.tag != "html":
                element.drop_tree()
    root = _main_root(document)
    heading_path: list[tuple[int, str]] = []
    paragraphs: list[Paragraph] = []
    h1: str | None = None

    def add(text: str, *, keep_lines: bool = False) -> None:
        text = text.strip() if keep_lines else clean_space(text)
        if text:
            paragraphs.append(Paragraph(tuple(h for _, h in heading_path), text))

    def is_block(element: etree._Element) -> bool:
        return isinstance(element.tag, str) and (element.tag in _BLOCKS or element.tag in _HEADINGS)

    def walk(element: etree._Element) -> None:
        nonlocal h1
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _HEADINGS:
            name = clean_space(element.text_content())
            if name:
                level = _HEADINGS[tag]
                h1 = h1 or (name if level == 1 else None)
                while heading_path and heading_path[-1][0] >= level:
                    heading_path.pop()
                heading_path.append((level, name))
            return
        if not any(is_block(d) for d in element.iterdescendants()):
            add(element.text_content(), keep_lines=tag == "pre")
            return
        # A container: inline runs between its block children are paragraphs of their own.
        run = [element.text or ""]
        for child in element:
            if is_block(child):
                add(" ".join(run))
                walk(child)
                run = [child.tail or ""]
            else:
                run += [child.text_content() if isinstance(child.tag, str) else "", child.tail or ""]
        add(" ".join(run))

    walk(root)
    return Extracted("html", h1 or title_text, paragraphs)
