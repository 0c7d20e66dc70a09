"""Test documents in every format the knowledge base reads, written here (PDF by reportlab)."""

from __future__ import annotations

import io

MARKDOWN = """# Returns handbook

How returns work.

## Refund period

You can ask for a refund within 7 days of delivery. Faulty items: 30 days.

## Parcel lockers

Parcels can be sent to a locker near you; the locker keeps them for 3 days.
""".encode()

TEXT = """Warehouse notes

The loading dock opens at six in the morning and closes at ten at night.

Forklift keys hang in the blue cabinet beside the office door.
""".encode()

HTML = """<!doctype html><html><head><title>Care guide</title></head><body>
<header class="site-header"><a href="/">Home</a> <a href="/shop">Shop</a></header>
<nav><ul><li>Menu entry one</li><li>Menu entry two</li></ul></nav>
<div id="cookie-consent" class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<main>
  <h1>Care guide</h1>
  <p>Wash wool sweaters <b>by hand</b> in cold water and dry them flat.</p>
  <h2>Leather</h2>
  <p>Clean leather shoes with a damp cloth and condition them every month.</p>
</main>
<aside class="sidebar">Related products: socks, hats</aside>
<footer>Copyright 2026 Cheongryong Market. Privacy policy.</footer>
</body></html>""".encode()

KO_LINE = "환불은 구매 후 7일 이내에 신청할 수 있습니다."
ZH_LINE = "退货须在收货后七天内申请。"
EN_LINE = "Refunds are processed within five business days."


def pdf_bytes(pages: list[list[str]] | None = None) -> bytes:
    """A PDF whose pages hold these lines, in Korean, Chinese and English fonts (Adobe CID fonts)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    for name in ("HYSMyeongJo-Medium", "STSong-Light"):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    pages = pages or [[KO_LINE, ZH_LINE, EN_LINE]]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for lines in pages:
        y = 760
        for line in lines:
            if any("\uac00" <= c <= "\ud7a3" for c in line):
                font = "HYSMyeongJo-Medium"
            elif any("\u4e00" <= c <= "\u9fff" for c in line):
                font = "STSong-Light"
            else:
                font = "Helvetica"
            pdf.setFont(font, 12)
            pdf.drawString(72, y, line)
            y -= 40  # a gap pdfium reads as a new paragraph
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
