"""The OpenAPI document (newsdesk/openapi.json) against the routes api.make_app registers, so neither can change
without the other; and the request checks that run before any engine is asked (pure: no server, no engine)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from multidict import MultiDict
from schemathesis.core.result import Ok

from newsdesk.api import BadRequest, _request_from_query, check_cursor, make_app, openapi_document
from newsdesk.settings import Settings

METHODS = {"get", "post", "put", "delete", "patch", "head", "options"}


def app_routes(settings: Settings) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route; HEAD is aiohttp's automatic twin of each GET."""
    routes = set()
    for route in make_app(settings).router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        assert path, info
        if route.method != "HEAD":
            routes.add((route.method, path))
    return routes


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in METHODS}


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path, token: str | None) -> None:
    routes = app_routes(Settings(data_dir=tmp_path, api_token=token))
    assert routes == documented(openapi_document())
    assert ("GET", "/search") in routes and ("DELETE", "/alerts/{name}") in routes  # the comparison saw routes


def test_a_route_missing_from_the_document_would_be_caught(tmp_path: Path) -> None:
    document = json.loads(json.dumps(openapi_document()))
    del document["paths"]["/alerts/{name}/disable"]
    assert app_routes(Settings(data_dir=tmp_path)) - documented(document) == {("POST", "/alerts/{name}/disable")}


def test_the_document_is_openapi_3_and_loads_in_schemathesis() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.")
    assert document == json.loads((Path(__file__).parents[2] / "newsdesk" / "openapi.json").read_text())
    loaded = set()
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        assert isinstance(result, Ok), result  # an Err: an operation schemathesis could not read
        loaded.add((result.ok().method.upper(), result.ok().path))
    assert loaded == documented(document)


def test_path_parameters_are_declared() -> None:
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            in_path = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert declared == in_path, (method, path)


def test_every_error_answer_is_the_json_error_shape() -> None:
    document = openapi_document()
    schemas, responses = document["components"]["schemas"], document["components"]["responses"]
    assert schemas["Error"]["required"] == ["error"] and set(schemas["Error"]["properties"]) == {"error", "position"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "200" in operation["responses"], (method, path)
            for status, answer in operation["responses"].items():
                if "$ref" in answer:
                    answer = responses[answer["$ref"].rsplit("/", 1)[-1]]
                content = answer["content"]
                assert list(content) == ["application/json"], (method, path, status)
                if int(status) >= 400 and path != "/health/ready":
                    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_security_matches_the_public_paths() -> None:
    """The health probes and the document are open; every other operation documents its 401."""
    from newsdesk.api import PUBLIC_PATHS

    document = openapi_document()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    for path, item in document["paths"].items():
        for operation in item.values():
            if path in PUBLIC_PATHS:
                assert operation["security"] == [] and "401" not in operation["responses"]
            else:
                assert "security" not in operation and "401" in operation["responses"], path
    assert {"bearerAuth": []} in document["security"]


# -- hostile search parameters: refused before any engine is asked ----------------------------------------------

def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(("params", "needle"), [
    ({"limit": "-1"}, "between 1 and 1000"),
    ({"limit": "0"}, "between 1 and 1000"),
    ({"limit": str(10**12)}, "between 1 and 1000"),
    ({"limit": "9" * 40}, "integer"),
    ({"limit": "abc"}, "integer"),
    ({"limit": "1_000"}, "integer"),
    ({"limit": "٣"}, "integer"),  # an Arabic-Indic digit: int() takes it
    ({"limit": "1.5"}, "integer"),
    ({"sort": "score"}, "sort"),
    ({"entity": "x" * 2001}, "entity is too long"),
    ({"after": "y" * 2001}, "after is too long"),
    ({"since": "253402300800000"}, "since is out of range"),  # epoch ms of 10000-01-01
    ({"until": "now+1234567d"}, "until is out of range"),
    ({"since": "2024-01-01||-1000000M/d"}, "since is out of range"),
])
def test_bad_parameters_are_bad_requests(params: dict[str, str], needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        _request_from_query(MultiDict(params))


def test_good_parameters_make_the_request() -> None:
    request = _request_from_query(MultiDict({"q": "grain", "limit": " 25 ", "sort": "relevance", "lang": "it",
                                             "after": cursor([1.5, 1733443200000, "a-1"])}))
    assert (request.query, request.limit, request.sort, request.language) == ("grain", 25, "relevance", "it")
    assert _request_from_query(MultiDict()).limit == 10
    for since in ("253402300799999", "now-999999d", "2024-01-01||+12M/d", "2024-05-01T12:00:00Z"):
        assert _request_from_query(MultiDict({"since": since})).since == since


@pytest.mark.parametrize(("values", "sort"), [
    ([], "date"), ([1], "date"), ([1, "x", 3], "date"), ({"a": 1}, "date"), ([1, 2], "date"),
    (["2024-01-01", "x"], "date"), ([1.5, "x"], "date"), ([True, "x"], "date"), ([10**30, "x"], "date"),
    ([None, "x"], "date"), ([1, "x" * 513], "date"), ([1, "x"], "relevance"), ([1.5, 2.5, "x"], "relevance"),
])
def test_forged_cursors_are_refused(values: Any, sort: str) -> None:
    with pytest.raises(ValueError, match="not a valid page cursor"):
        check_cursor(cursor(values), sort)


@pytest.mark.parametrize("raw", ["%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b"[NaN, \"x\"]").decode(),
                                 base64.urlsafe_b64encode(b"[Infinity, 1, \"x\"]").decode()])
def test_undecodable_cursors_are_refused_without_being_repeated(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid page cursor") as refused:
        check_cursor(raw, "relevance")
    assert raw not in str(refused.value)


@pytest.mark.parametrize(("values", "sort"), [
    ([1733443200000, "a-1"], "date"), ([-(2**63), "a-1"], "date"),  # the engines' sort value for "no date"
    ([3.25, 1733443200000, "a-1"], "relevance"), ([2, -(2**63), "a-1"], "relevance"),
])
def test_cursors_the_engines_make_are_accepted(values: Any, sort: str) -> None:
    check_cursor(cursor(values), sort)
