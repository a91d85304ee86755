"""The staff console on the local API: its static files at ``/console/`` and the ``config.json`` that tells it
it runs on the local stack (in AWS the console's deployment writes a Cognito one; see ``console/publish.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from crm_local.template import ROOT

SITE = ROOT / "console" / "site"
PREFIX = "/console"
LOCAL_CONFIG = {"mode": "local"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
                 ".txt": "text/plain; charset=utf-8", ".ico": "image/x-icon", ".png": "image/png"}
# The console's own policy: its scripts, styles and calls to this origin only (AWS sends the same from CloudFront).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

Answer = tuple[int, dict[str, str], bytes]


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def console_answer(path: str) -> Answer:
    """The answer to ``GET path`` under ``/console``: a file of the site, the local config, or 404."""
    if path == PREFIX:
        return 301, {"Location": PREFIX + "/"}, b""
    relative = path.removeprefix(PREFIX + "/") or "index.html"
    if relative == "config.json":
        return 200, {"Content-Type": CONTENT_TYPES[".json"], **SECURITY_HEADERS}, json.dumps(LOCAL_CONFIG).encode()
    file = site_file(relative)
    if file is None:
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found"
    return 200, {"Content-Type": CONTENT_TYPES[file.suffix], **SECURITY_HEADERS}, file.read_bytes()


def site_file(relative: str) -> Path | None:
    """The site's file at ``relative`` if it is one the site serves (a known kind, inside the site folder)."""
    candidate = (SITE / relative).resolve()
    if not candidate.is_relative_to(SITE.resolve()) or not candidate.is_file():
        return None
    return candidate if candidate.suffix in CONTENT_TYPES else None


def site_files() -> list[Path]:
    """Every file the site serves, relative to the site folder."""
    return sorted(p.relative_to(SITE) for p in SITE.rglob("*") if p.is_file() and p.suffix in CONTENT_TYPES)
