"""What makes an address or URL in the configuration usable: each rule returns why not, or None."""

from __future__ import annotations

import ipaddress
import urllib.parse

import multiaddr

_LISTEN_HOSTS = ("ip4", "ip6")
_DIAL_HOSTS = ("ip4", "ip6", "dns", "dns4", "dns6")
_TRANSPORTS = ("tcp", "udp")
#: The placeholders a slippy-map tile URL template must hold.
TILE_PLACEHOLDERS = ("{z}", "{x}", "{y}")


def is_loopback(host: str) -> bool | None:
    """Whether ``host`` is a loopback address; None if it is no address at all."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return None


def _protocols(text: str) -> list[str] | str:
    """The protocol names of multiaddr ``text``, or why it does not parse."""
    if not text.startswith("/"):
        return "a multiaddr starts with '/', e.g. /ip4/127.0.0.1/tcp/4001"
    try:
        return [p.name for p in multiaddr.Multiaddr(text).protocols()]
    except (ValueError, TypeError) as exc:
        return f"not a multiaddr ({exc})"


def check_listen(text: str) -> str | None:
    """A listen address: ``/ip4|ip6/<address>/tcp|udp/<port>``, no ``/p2p/``."""
    names = _protocols(text)
    if isinstance(names, str):
        return names
    if len(names) < 2 or names[0] not in _LISTEN_HOSTS or names[1] not in _TRANSPORTS:
        return "must be /ip4/<address>/tcp/<port> or /ip6/<address>/tcp/<port>"
    if "p2p" in names:
        return "a listen address has no /p2p/ part: the peer id comes from the node's key"
    return None


def check_peer(text: str) -> str | None:
    """A peer to dial: ``/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<peer id>``."""
    names = _protocols(text)
    if isinstance(names, str):
        return names
    if not names or names[-1] != "p2p":
        return "must end in /p2p/<peer id>, so the node knows whom it dials"
    if len(names) != 3 or names[0] not in _DIAL_HOSTS or names[1] not in _TRANSPORTS:
        return "must be /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<peer id>"
    return None


def check_http_url(text: str) -> str | None:
    """An absolute ``http://`` or ``https://`` URL with a host."""
    try:
        url = urllib.parse.urlsplit(text)
        url.port  # noqa: B018 - parsing the port is what raises on a bad one
    except ValueError as exc:
        return f"not a URL ({exc})"
    if url.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not url.hostname:
        return "must name a host, e.g. http://127.0.0.1:5000"
    if any(c.isspace() for c in text):
        return "must not contain spaces"
    return None


def check_tile_url(text: str) -> str | None:
    """A tile URL template: http(s), with ``{z}``, ``{x}`` and ``{y}``."""
    problem = check_http_url(text)
    if problem is not None:
        return problem
    missing = [p for p in TILE_PLACEHOLDERS if p not in text]
    if missing:
        return (
            f"must be a tile URL template with {{z}}, {{x}} and {{y}}; lacks {', '.join(missing)}"
        )
    return None
