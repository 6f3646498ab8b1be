"""The only resources WeasyPrint may load: bundled template files, by exact name.

Every URL WeasyPrint asks for goes through `BundledAssetFetcher`. It serves the files
in ASSET_FILES under the private `rogatory-asset:` scheme and refuses everything else
(http, https, file, data, ...) before any I/O happens.
"""

from __future__ import annotations

from pathlib import Path
from threading import Lock

from weasyprint.urls import URLFetcher, URLFetcherResponse

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
ASSET_SCHEME = "rogatory-asset:"
ASSET_FILES: dict[str, str] = {
    "print.css": "text/css",
    "fonts/DejaVuSans.ttf": "font/ttf",
    "fonts/DejaVuSans-Bold.ttf": "font/ttf",
    "fonts/DejaVuSans-Oblique.ttf": "font/ttf",
    "fonts/DejaVuSansMono.ttf": "font/ttf",
    "fonts/DejaVuSerif.ttf": "font/ttf",
    "fonts/DejaVuSerif-Bold.ttf": "font/ttf",
}
_cache: dict[str, bytes] = {}
_cache_lock = Lock()


class AssetRefused(ValueError):
    """WeasyPrint asked for something that is not a bundled asset."""

    code = "asset-refused"


def asset_bytes(name: str) -> bytes:
    """A bundled file's content, read once per process."""
    with _cache_lock:
        if name not in _cache:
            _cache[name] = (TEMPLATE_DIR / name).read_bytes()
        return _cache[name]


class BundledAssetFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
    """Serves `rogatory-asset:<name>` for names in ASSET_FILES; refuses any other URL."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        name = url.removeprefix(ASSET_SCHEME) if url.startswith(ASSET_SCHEME) else None
        if name is None or name not in ASSET_FILES:
            self.refused.append(url[:200])
            raise AssetRefused("only bundled assets may be loaded")
        self.served.append(name)
        return URLFetcherResponse(
            url, asset_bytes(name), headers={"Content-Type": ASSET_FILES[name]}
        )

    def open(self, url: object, data: object = None, timeout: object = None) -> URLFetcherResponse:
        raise AssetRefused("direct opening is not allowed")
