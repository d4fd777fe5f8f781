"""The OpenAPI description is the app: the same routes both ways, and responses that fit it.

``conforms`` checks a response against the schema the description gives for
its route and status; ``tests/test_control_app.py`` runs it on every response
its clients get, so each endpoint's happy path and refusals are checked
against what is documented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from lazooz.control.app import ENDPOINTS, TokenGuard, make_app
from lazooz.control.openapi import SCHEMAS, describe
from tests.test_control_app import AUTH, Clock, client_of, local_node

DOC = describe(ENDPOINTS)


def test_every_route_of_the_app_is_described_and_nothing_else() -> None:
    guard = make_app(local_node(1, Clock()), "x" * 32)
    assert isinstance(guard, TokenGuard) and isinstance(guard.app, Starlette)
    served = set()
    for route in guard.app.routes:
        assert isinstance(route, Route)
        served |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    described = {(method, path) for path, ops in DOC["paths"].items() for method in ops}
    assert served == described
    assert len(described) == len(ENDPOINTS)


def test_the_description_is_openapi_3_1_with_unique_operations_and_resolvable_refs() -> None:
    assert DOC["openapi"] == "3.1.0"
    ids = [op["operationId"] for ops in DOC["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    refs = re.findall(r"'\$ref': '#/components/schemas/(\w+)'", repr(DOC))
    assert refs and set(refs) <= set(SCHEMAS)
    for path, ops in DOC["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        for op in ops.values():
            assert [p["name"] for p in op.get("parameters", []) if p["in"] == "path"] == names
            assert "401" in op["responses"]


def test_the_description_is_served_behind_the_token() -> None:
    with client_of(local_node(1, Clock())) as api:
        assert api.get("/v1/openapi.json").json() == DOC
        assert api.get("/v1/openapi.json", headers={"Authorization": ""}).status_code == 401
    assert AUTH  # the same token the app tests use


# -- checking responses against it


def conforms(method: str, path: str, status: int, body: object) -> list[str]:
    """Why ``body`` does not fit what the description says of ``method path`` at ``status``."""
    op = operation(method, path)
    if op is None:
        return [f"{method} {path}: not described"]
    response = op["responses"].get(str(status))
    if response is None:
        return [f"{method} {path}: status {status} not described"]
    content = response["content"]
    if "application/json" not in content:
        return []
    return check(content["application/json"]["schema"], body, "$")


def operation(method: str, path: str) -> dict[str, Any] | None:
    for template, ops in DOC["paths"].items():
        pattern = (
            "^"
            + re.sub(r"{\w+}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
            + "$"
        )
        if re.match(pattern, path) and method.lower() in ops:
            found: dict[str, Any] = ops[method.lower()]
            return found
    return None


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def check(schema: dict[str, Any], value: object, where: str) -> list[str]:
    """A small JSON Schema checker: $ref, oneOf, type, enum, required, properties, items."""
    if "$ref" in schema:
        return check(SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]], value, where)
    if "oneOf" in schema:
        fits = [s for s in schema["oneOf"] if not check(s, value, where)]
        return [] if len(fits) == 1 else [f"{where}: fits {len(fits)} of oneOf"]
    problems = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        ok = any(
            isinstance(value, _TYPES[k])
            and not (k in ("integer", "number") and value is True)
            and not (k in ("integer", "number") and value is False)
            for k in kinds
        )
        if not ok:
            return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: lacks {key!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                problems += check(props[key], item, f"{where}.{key}")
            elif extra is False:
                problems.append(f"{where}: {key!r} is not described")
            elif isinstance(extra, dict):
                problems += check(extra, item, f"{where}.{key}")
        if props and schema.get("type") == "object" and extra is None:
            # Responses describe every field they have.
            problems += [f"{where}: {k!r} is not described" for k in value if k not in props]
    if isinstance(value, list):
        if "items" in schema:
            for i, item in enumerate(value):
                problems += check(schema["items"], item, f"{where}[{i}]")
        for i, (sub, item) in enumerate(zip(schema.get("prefixItems", []), value, strict=False)):
            problems += check(sub, item, f"{where}[{i}]")
    return problems


@pytest.mark.parametrize(
    ("schema", "value", "fits"),
    [
        ("Member", {"member_id": "lz1", "public_key": "ab"}, True),
        ("Member", {"member_id": "lz1"}, False),
        ("Member", {"member_id": "lz1", "public_key": "ab", "extra": 1}, False),
        ("Window", {"start_ms": 1, "end_ms": True}, False),
        ("Error", {"error": "x", "detail": "y"}, True),
    ],
)
def test_the_checker_itself(schema: str, value: object, fits: bool) -> None:
    assert (not check(SCHEMAS[schema], value, "$")) is fits


def test_docs_list_every_endpoint_and_no_other() -> None:
    text = (Path(__file__).parent.parent / "docs" / "node.md").read_text("utf-8")
    section = text.split("## Control API", 1)[1]
    listed = set(re.findall(r"^\| (GET|POST) \| `([^`]+)` \|", section, re.M))
    assert listed == {(e.method, e.path) for e in ENDPOINTS}
