"""A client of a node's control API, for the CLI: the standard library's ``urllib``, no event loop.

``Client.of(data_dir)`` finds the running node through ``control.json`` and
``control.token`` (``files``). An answer other than 2xx raises ``ApiError``
carrying the API's ``{"error", "detail"}``; a node that is not there raises
``NodeUnreachable`` saying how to start one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lazooz.control.files import CONTROL_FILE, ControlInfo, read_token

#: Seconds to wait for an answer; a command waits for the node's store to commit.
TIMEOUT_S = 30.0
#: Seconds an event stream may stay silent (it sends a keepalive every 15 s).
EVENTS_TIMEOUT_S = 45.0


class ApiError(Exception):
    """The API refused the call: ``status``, ``reason`` and the field-naming ``detail``."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


class NodeUnreachable(Exception):
    """No node's API answers where the data directory says it is."""


@dataclass(frozen=True, slots=True)
class Client:
    url: str
    token: str
    timeout_s: float = TIMEOUT_S

    @classmethod
    def of(cls, data_dir: Path) -> Client:
        """The client of the node running on ``data_dir``."""
        try:
            info = ControlInfo.read(data_dir)
        except (OSError, ValueError, KeyError, TypeError):
            raise NodeUnreachable(
                f"no node is running on {data_dir} (no {CONTROL_FILE}): "
                f"start one with `lazooz daemon --data-dir {data_dir}`"
            ) from None
        return cls(info.url, read_token(data_dir))

    def get(self, path: str, **query: str) -> Any:
        return self.call("GET", path, query=query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.call("POST", path, body=body or {})

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> Any:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeUnreachable(
                f"the node's API at {self.url} does not answer ({reason}): "
                "is `lazooz daemon` running?"
            ) from None

    def events(self, subscribed: Callable[[], None] | None = None) -> Iterator[Any]:
        """The node's notifications as they come (``GET /v1/events``), until the node stops.

        ``subscribed`` is called once the stream is live. A read waits up to
        ``EVENTS_TIMEOUT_S``: the stream says something every 15 s (a keepalive).
        """
        request = urllib.request.Request(self.url + "/v1/events")
        request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with _OPENER.open(request, timeout=EVENTS_TIMEOUT_S) as response:
                for raw in response:
                    if raw.startswith(b": subscribed") and subscribed is not None:
                        subscribed()
                    elif raw.startswith(b"data: "):
                        yield json.loads(raw[6:])
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NodeUnreachable(
                f"the node's event stream at {self.url} broke ({reason})"
            ) from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the API never redirects; following one would carry the token along


#: No proxies (an ``http_proxy`` in the environment must not see the token), no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _api_error(exc: urllib.error.HTTPError) -> ApiError:
    raw = exc.read()
    try:
        body = json.loads(raw)
        return ApiError(exc.code, str(body["error"]), str(body["detail"]))
    except (ValueError, KeyError, TypeError):
        text = raw.decode("utf-8", "replace").strip()[:200]
        return ApiError(exc.code, "http", f"HTTP {exc.code}: {text or exc.reason}")
