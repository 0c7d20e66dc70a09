"""The chat page: `/` serves `static/index.html`, `/static/...` its scripts and styles.

Plain files shipped inside the package (no build step, nothing fetched from elsewhere), so the
page works on a server with no network access.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")

# The page loads nothing from elsewhere and runs no inline script.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """The chat page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


def static_files() -> StaticFiles:
    """The page's scripts and styles, mounted at `/static`."""
    return StaticFiles(directory=STATIC_DIR, check_dir=False)
