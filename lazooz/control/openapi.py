"""The control API's OpenAPI 3.1 description, made from ``app.ENDPOINTS`` and the schemas here.

Paths, methods, bodies, statuses and query parameters come from the endpoint
table, so the description lists exactly the routes the app serves
(``tests/test_control_openapi.py`` checks both ways, and checks real responses
against the schemas' required fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lazooz.control.endpoint import Endpoint
from protocol.ride.messages import CancelReason, DeclineReason

Schema = dict[str, Any]

EVENT_STREAM = "text/event-stream"


def _obj(required: Iterable[str], properties: Schema, **more: Any) -> Schema:
    return {"type": "object", "required": list(required), "properties": properties, **more}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


_INT = {"type": "integer"}
_NUM = {"type": "number"}
_STR = {"type": "string"}
_HEX_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "16 bytes, hex"}
_MS = {"type": "integer", "minimum": 0, "description": "Unix time, milliseconds"}
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_POINT = {
    "type": "array",
    "prefixItems": [
        {"type": "number", "description": "lat"},
        {"type": "number", "description": "lon"},
    ],
    "minItems": 2,
    "maxItems": 2,
    "description": "[lat, lon] in degrees",
}


def _reasons(kind: Iterable[DeclineReason | CancelReason]) -> Schema:
    return {"type": "string", "enum": [r.name.lower() for r in kind]}


SCHEMAS: dict[str, Schema] = {
    "Error": _obj(
        ["error", "detail"],
        {
            "error": {**_STR, "description": "a stable reason code, e.g. bad_input, unknown_id"},
            "detail": {**_STR, "description": "field=value: rule"},
        },
    ),
    "Ok": {"type": "object"},
    "Member": _obj(
        ["member_id", "public_key"],
        {"member_id": {**_STR, "description": "lz1..., bech32"}, "public_key": _STR},
    ),
    "Members": _array(_ref("Member")),
    "Window": _obj(["start_ms", "end_ms"], {"start_ms": _MS, "end_ms": _MS}),
    "Cost": _obj(
        ["currency"],
        {
            "currency": {**_STR, "description": "ISO 4217; XXX (the default) asks no money"},
            "base_minor": {**_INT, "minimum": 0, "default": 0},
            "per_km_minor": {**_INT, "minimum": 0, "default": 0},
        },
    ),
    "Route": {
        "description": "[[lat, lon], ...]; a GeoJSON LineString, or a Feature or "
        "FeatureCollection holding exactly one; or the text of a GPX file (track points, "
        "else route points). 2..1024 points.",
        "oneOf": [
            {"type": "array", "items": _POINT, "minItems": 2, "maxItems": 1024},
            {"type": "object", "required": ["type"], "properties": {"type": _STR}},
            {"type": "string", "description": "GPX 1.0 or 1.1 document; no DOCTYPE"},
        ],
    },
    "NewOffer": _obj(
        ["route", "departure", "seats"],
        {
            "route": _ref("Route"),
            "departure": {**_ref("Window"), "description": "when you leave the first point"},
            "duration_s": {
                **_INT,
                "minimum": 1,
                "description": "the whole drive; default: the route's length at 30 km/h",
            },
            "seats": {**_INT, "minimum": 1, "maximum": 8},
            "max_detour_m": {**_INT, "minimum": 0, "default": 1000},
            "max_detour_s": {**_INT, "minimum": 0, "default": 600},
            "cost": _ref("Cost"),
            "expires_ms": {**_MS, "description": "default: departure.end_ms + duration_s"},
        },
        additionalProperties=False,
    ),
    "Offer": _obj(
        ["offer_id", "status", "seats", "free_seats", "departure", "duration_s", "expires_ms"],
        {
            "offer_id": _HEX_ID,
            "status": {"enum": ["open", "booked", "expired", "withdrawn"]},
            "seats": _INT,
            "free_seats": _INT,
            "departure": _ref("Window"),
            "duration_s": _INT,
            "max_detour_m": _INT,
            "max_detour_s": _INT,
            "cost": _ref("Cost"),
            "created_ms": _MS,
            "expires_ms": _MS,
            "seq": _INT,
            "route": {**_array(_POINT), "description": "the full route, kept on this node"},
            "published_route": {**_array(_POINT), "description": "privacy zone cut (SPEC §4.1)"},
            "topics": _array(_STR),
            "rides": {"type": "object", "additionalProperties": _INT},
        },
    ),
    "Offers": _array(_ref("Offer")),
    "NewRequest": _obj(
        ["pickup", "dropoff", "window"],
        {
            "pickup": _POINT,
            "dropoff": _POINT,
            "window": {**_ref("Window"), "description": "when you can be picked up"},
            "seats": {**_INT, "minimum": 1, "maximum": 8, "default": 1},
            "max_walk_m": {**_INT, "minimum": 0, "maximum": 5000, "default": 500},
            "expires_ms": {**_MS, "description": "default: window.end_ms"},
        },
        additionalProperties=False,
    ),
    "Request": _obj(
        ["request_id", "status", "pickup", "dropoff", "window", "seats", "max_walk_m"],
        {
            "request_id": _HEX_ID,
            "status": {"enum": ["open", "booked", "expired", "withdrawn"]},
            "pickup": _POINT,
            "dropoff": _POINT,
            "pickup_cell": _STR,
            "dropoff_cell": _STR,
            "window": _ref("Window"),
            "seats": _INT,
            "max_walk_m": _INT,
            "created_ms": _MS,
            "expires_ms": _MS,
            "seq": _INT,
            "topic": _STR,
            "ride_id": _NULLABLE_STR,
        },
    ),
    "Requests": _array(_ref("Request")),
    "Reputation": _obj(
        ["count", "mean"],
        {
            "count": {**_INT, "minimum": 0, "description": "ratings of rides whose receipts count"},
            "mean": {"type": ["number", "null"], "description": "mean stars 1..5; null: none yet"},
        },
    ),
    "Match": _obj(
        ["offer_id", "request_id", "driver", "rider", "exact", "score"],
        {
            "reputation": {**_ref("Reputation"), "description": "the other member's"},
            "offer_id": _HEX_ID,
            "request_id": _HEX_ID,
            "driver": _ref("Member"),
            "rider": _ref("Member"),
            "exact": {"type": "boolean"},
            "score": {**_NUM, "description": "lower is better (docs/matching.md)"},
            "walk_m": _NUM,
            "detour_m": _NUM,
            "detour_s": _NUM,
            "wait_s": _NUM,
            "pickup_ms": _MS,
            "shared_m": _NUM,
            "cost_minor": _INT,
            "seats": _INT,
            "window": _ref("Window"),
        },
    ),
    "Matches": _array(_ref("Match")),
    "NewRide": _obj(
        ["request_id", "offer_id"],
        {
            "request_id": _HEX_ID,
            "offer_id": _HEX_ID,
            "driver": {
                **_STR,
                "description": "the driver's public key, when two drivers share an offer id",
            },
        },
        additionalProperties=False,
    ),
    "Ride": _obj(
        [
            "ride_id",
            "role",
            "state",
            "counterparty",
            "offer_id",
            "request_id",
            "seats",
            "rating",
            "counterparty_reputation",
        ],
        {
            "ride_id": _HEX_ID,
            "role": {"enum": ["rider", "driver"]},
            "state": _STR,
            "counterparty": _ref("Member"),
            "offer_id": _HEX_ID,
            "request_id": _HEX_ID,
            "seats": _INT,
            "pin": {**_NULLABLE_STR, "description": "rider: say it to the driver at pickup"},
            "pickup_ms": _NULLABLE_INT,
            "endings": _array(_obj(["by", "reason"], {"by": _STR, "reason": _STR})),
            "rating": {**_NULLABLE_INT, "description": "the stars you gave the other party"},
            "counterparty_reputation": _ref("Reputation"),
        },
    ),
    "Rides": _array(_ref("Ride")),
    "Decline": _obj([], {"reason": {**_reasons(DeclineReason), "default": "other"}}),
    "Cancel": _obj([], {"reason": {**_reasons(CancelReason), "default": "changed_mind"}}),
    "Confirm": _obj([], {"pickup_ms": {**_MS, "description": "default: the exact check's plan"}}),
    "Pickup": _obj(["pin"], {"pin": _STR}),
    "Rating": _obj(
        ["stars"],
        {"stars": {**_INT, "minimum": 1, "maximum": 5}},
        additionalProperties=False,
    ),
    "Finish": _obj(
        [], {"distance_m": {**_INT, "description": "default: the planned shared distance"}}
    ),
    "Receipt": _obj(
        ["ride_id", "driver", "rider", "distance_m", "seats", "started_ms", "ended_ms"],
        {
            "ride_id": _HEX_ID,
            "offer_id": _HEX_ID,
            "request_id": _HEX_ID,
            "driver": _ref("Member"),
            "rider": _ref("Member"),
            "pickup_cell": _STR,
            "dropoff_cell": _STR,
            "distance_m": _INT,
            "seats": _INT,
            "started_ms": _MS,
            "ended_ms": _MS,
            "cost": _ref("Cost"),
            "cost_minor": _INT,
        },
    ),
    "Receipts": _array(
        _obj(
            ["seq", "entry_id", "half", "receipt", "verdict", "credited_milli", "rating"],
            {
                "seq": _INT,
                "entry_id": _STR,
                "time_ms": _MS,
                "half": {"enum": ["proposal", "agreement"]},
                "receipt": _ref("Receipt"),
                "verdict": _NULLABLE_STR,
                "credited_milli": _INT,
                "rating": {**_NULLABLE_INT, "description": "the stars you gave for this ride"},
            },
        )
    ),
    "Balance": _obj(
        ["member_id", "public_key", "balance_milli", "lines", "reputation"],
        {
            "member_id": _STR,
            "public_key": _STR,
            "balance_milli": _INT,
            "reputation": {**_ref("Reputation"), "description": "how others rated the member"},
            "lines": _array(
                _obj(
                    ["ride_id", "verdict", "credited_milli", "text"],
                    {
                        "ride_id": _HEX_ID,
                        "driver": _ref("Member"),
                        "rider": _ref("Member"),
                        "ended_ms": _MS,
                        "verdict": _STR,
                        "base_milli": _INT,
                        "pair_index": _INT,
                        "after_pair_milli": _INT,
                        "cap_left_milli": _INT,
                        "credited_milli": _INT,
                        "text": _STR,
                    },
                )
            ),
        },
    ),
    "Status": _obj(
        ["member_id", "public_key", "peer_id", "listen_addrs", "connected", "uptime_s"],
        {
            "member_id": _STR,
            "public_key": _STR,
            "peer_id": _NULLABLE_STR,
            "listen_addrs": _array(_STR),
            "connected": _INT,
            "started_ms": _MS,
            "uptime_s": _NUM,
            "store_path": _NULLABLE_STR,
            "balance_milli": _INT,
            "offers": {"type": "object", "additionalProperties": _INT},
            "requests": {"type": "object", "additionalProperties": _INT},
            "rides": {"type": "object", "additionalProperties": _INT},
            "book": _obj(["offers", "requests"], {"offers": _INT, "requests": _INT}),
            "rejected": {"type": "object", "additionalProperties": _INT},
        },
    ),
    "AppInfo": _obj(
        ["member_id", "public_key", "home", "tile_url", "router"],
        {
            "member_id": _STR,
            "public_key": _STR,
            "home": {**_POINT, "description": "[node.home]: where the map opens"},
            "tile_url": {**_NULLABLE_STR, "description": "[app] tile_url; null: no tiles"},
            "tile_attribution": _STR,
            "router": _obj(
                ["backend", "network"],
                {
                    "backend": {"enum": ["embedded", "osrm", "straight"]},
                    "network": {**_NULLABLE_STR, "description": "the embedded network's name"},
                    "attribution": _NULLABLE_STR,
                    "bounds": {
                        "type": ["array", "null"],
                        "items": _POINT,
                        "description": "[[south, west], [north, east]]",
                    },
                },
            ),
        },
    ),
    "Network": _obj(
        ["type", "features"],
        {"type": {"enum": ["FeatureCollection"]}, "features": _array({"type": "object"})},
        additionalProperties=True,
        description="GeoJSON: the embedded network's roads ([lon, lat], as GeoJSON has it)",
    ),
    "RouteQuery": _obj(
        ["waypoints"],
        {
            "waypoints": {**_array(_POINT), "minItems": 2, "maxItems": 25},
            "cost": {**_ref("Cost"), "description": "to estimate a rider's share of the route"},
        },
        additionalProperties=False,
    ),
    "RoutePlan": _obj(
        ["route", "length_m", "duration_s", "backend"],
        {
            "route": {**_array(_POINT), "description": "usable as an offer's route"},
            "length_m": _NUM,
            "duration_s": _NUM,
            "backend": {"enum": ["embedded", "osrm", "straight"]},
            "network": _NULLABLE_STR,
            "cost_minor": {**_NULLABLE_INT, "description": "cost.for_distance(length_m)"},
        },
    ),
    "Places": _array(_obj(["name", "point"], {"name": _STR, "area": _STR, "point": _POINT})),
    "Share": _obj(
        ["ride_id", "token", "path"],
        {
            "ride_id": _HEX_ID,
            "token": {**_STR, "description": "the link's own token, not the control token"},
            "path": {**_STR, "description": "/share/<token>: a page anyone with it may open"},
        },
    ),
    "Unshared": _obj(
        ["ride_id", "revoked"], {"ride_id": _HEX_ID, "revoked": {**_INT, "minimum": 0}}
    ),
    "NewSchedule": _obj(
        ["offer", "days", "time"],
        {
            "offer": {
                "type": "object",
                "description": "a NewOffer without departure (the schedule sets it)",
            },
            "days": _array({"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}),
            "time": {**_STR, "pattern": "^[0-2]?[0-9]:[0-5][0-9]$", "description": "local HH:MM"},
            "flex_min": {**_INT, "minimum": 0, "default": 15},
            "lead_min": {
                **_INT,
                "minimum": 0,
                "default": 60,
                "description": "publish this long before each departure",
            },
        },
        additionalProperties=False,
    ),
    "Schedule": _obj(
        ["schedule_id", "days", "time", "next_departure_ms", "next_publish_ms", "published"],
        {
            "schedule_id": _STR,
            "days": _array(_STR),
            "time": _STR,
            "flex_min": _INT,
            "lead_min": _INT,
            "offer": {"type": "object", "additionalProperties": True},
            "next_departure_ms": _MS,
            "next_publish_ms": _MS,
            "published": {**_array(_HEX_ID), "description": "offer ids, newest last"},
        },
    ),
    "Schedules": _array(_ref("Schedule")),
    "OpenApi": _obj(
        ["openapi", "paths"],
        {"openapi": _STR, "paths": {"type": "object"}},
        additionalProperties=True,
    ),
}

_STATUS_TEXT = {
    400: "Bad input: the detail names the field and the value",
    401: "No or wrong bearer token",
    404: "No such offer, request or ride",
    409: "The ride's state does not allow this command",
    413: "Body too large",
    502: "The routing service (OSRM) did not answer, or answered garbage",
    503: "The node is stopping",
}


def _error(status: int) -> Schema:
    return {
        "description": _STATUS_TEXT[status],
        "content": {"application/json": {"schema": _ref("Error")}},
    }


def operation(e: Endpoint) -> Schema:
    op: Schema = {"operationId": _operation_id(e), "summary": e.summary}
    params = [
        {"name": name, "in": "path", "required": True, "schema": _STR}
        for name in re.findall(r"{(\w+)}", e.path)
    ]
    params += [{"name": name, "in": "query", "required": False, "schema": _STR} for name in e.query]
    if params:
        op["parameters"] = params
    if e.body is not None:
        op["requestBody"] = {
            "required": e.body.startswith("New") or e.body in ("Pickup", "Rating"),
            "content": {"application/json": {"schema": _ref(e.body)}},
        }
    if e.response == EVENT_STREAM:
        ok: Schema = {
            "description": "server-sent events: `event: <notification type>`, "
            "`data: <JSON>`; a `: keepalive` comment when idle",
            "content": {EVENT_STREAM: {"schema": _STR}},
        }
    else:
        ok = {
            "description": "OK" if e.status == 200 else "Created",
            "content": {"application/json": {"schema": _ref(e.response)}},
        }
    responses = {str(e.status): ok}
    for status in sorted({*e.errors, 401, 503} | ({413} if e.body else set())):
        responses[str(status)] = _error(status)
    op["responses"] = responses
    return op


def _operation_id(e: Endpoint) -> str:
    words = [w for w in re.sub(r"{\w+}", "", e.path).split("/") if w and w != "v1"]
    return (
        e.method.lower()
        + "".join(w.replace(".", "_").capitalize() for w in words)
        + ("ById" if e.path.endswith("}") else "")
    )


def describe(endpoints: Iterable[Endpoint]) -> Schema:
    """The OpenAPI 3.1 document for ``endpoints``."""
    paths: dict[str, Schema] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = operation(e)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lazooz node control API",
            "version": "1",
            "description": "The local API of one lazooz node (docs/node.md, Control API). "
            "Times are Unix milliseconds, distances metres, money minor units, balances "
            "milli-tokens; ids are hex.",
        },
        "servers": [{"url": "http://127.0.0.1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
