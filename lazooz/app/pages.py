"""Serving the web UI's static files: ``/`` redirects to ``/app``; ``/app`` is the page;
``/app/static/<file>`` its script, style and vendored Leaflet.

The files are read once, at start, from the package (so a wheel serves what
it ships); only those files are served, whatever the path says. Every
answer carries a content security policy that lets the page load nothing
from anywhere but this node (and the tile server, when one is configured),
so a page that tried to reach the internet would be stopped by the browser
too, not only by our tests.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from starlette.types import Receive, Scope, Send

#: Where the page lives; ``/`` redirects here.
APP_PATH = "/app"
STATIC_PREFIX = "/app/static/"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


def _files(root: Traversable, prefix: str = "") -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for entry in root.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            out.update(_files(entry, name + "/"))
        elif entry.is_file():
            out[name] = entry.read_bytes()
    return out


def static_files() -> dict[str, bytes]:
    """Every file under ``lazooz/app/static``, by its path there (``vendor/leaflet/leaflet.js``)."""
    return _files(resources.files("lazooz.app") / "static")


class Pages:
    """The ASGI app of the UI's paths; ``serves(scope)`` says which paths are its."""

    def __init__(self, tile_origin: str | None = None) -> None:
        self.files = static_files()
        images = "'self' data:" + (f" {tile_origin}" if tile_origin else "")
        self.policy = (
            "default-src 'none'; script-src 'self'; connect-src 'self'; "
            f"img-src {images}; style-src 'self' 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ).encode()

    @staticmethod
    def serves(scope: Scope) -> bool:
        path: str = scope["path"]
        return path in ("/", APP_PATH, APP_PATH + "/") or path.startswith(STATIC_PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            await self._answer(send, 405, b"only GET here\n", "text/plain; charset=utf-8")
        elif path == "/":
            await self._answer(send, 302, b"", "text/plain", [(b"location", APP_PATH.encode())])
        elif path in (APP_PATH, APP_PATH + "/"):
            await self._file(send, "index.html", scope["method"])
        else:
            await self._file(send, path.removeprefix(STATIC_PREFIX), scope["method"])

    async def _file(self, send: Send, name: str, method: str) -> None:
        body = self.files.get(name)
        if body is None:
            await self._answer(send, 404, b"no such file\n", "text/plain; charset=utf-8")
            return
        kind = _TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream")
        # The page's own files change with lazooz: revalidate; vendored ones are pinned.
        cache = b"max-age=86400" if name.startswith("vendor/") else b"no-cache"
        await self._answer(
            send, 200, b"" if method == "HEAD" else body, kind, [(b"cache-control", cache)]
        )

    async def _answer(
        self,
        send: Send,
        status: int,
        body: bytes,
        kind: str,
        more: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", kind.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", self.policy),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            *(more or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
