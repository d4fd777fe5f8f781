"""What routing refuses: typed errors naming the field, the value and the rule.

They are ``LocalError``s (the user asked for a route the node cannot give),
so the control API answers them like any refused command.
"""

from __future__ import annotations

from protocol.errors import LocalError


class RoutingError(LocalError):
    """A route could not be given."""

    reason = "routing"


class NoRoute(RoutingError):
    """The waypoints are off the network, or no road joins them."""

    reason = "no_route"


class RouterUnavailable(RoutingError):
    """The routing service (OSRM) did not answer in time, or answered with garbage."""

    reason = "router_unavailable"


class UnknownPlace(LocalError):
    """An address that is neither ``lat, lon`` nor a place the node knows."""

    reason = "unknown_place"
