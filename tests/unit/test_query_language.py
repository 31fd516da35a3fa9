"""The query language: parsing (tests/fixtures/queries/valid.jsonl, invalid.jsonl), the DSL it compiles to, and
its use by search's build_query. Pure: no engine (tests/integration/test_query_language.py runs it on one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.elasticsearch import query_language as ql
from connectors.elasticsearch.index import analysed_languages
from connectors.elasticsearch.search import SearchRequest, build_query, text_fields
from streams.nlp.normalise import clean_surface
from streams.nlp.normalise import fold as annotator_fold

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "queries"
VALID = [json.loads(line) for line in (FIXTURES / "valid.jsonl").read_text("utf-8").splitlines() if line.strip()]
INVALID = [json.loads(line) for line in (FIXTURES / "invalid.jsonl").read_text("utf-8").splitlines()
           if line.strip()]


def matches(tree: Any, fragment: Any) -> bool:
    """`fragment` matches `tree`: dicts by their keys (a subset), lists element by element, the rest equal."""
    if isinstance(fragment, dict):
        return isinstance(tree, dict) and all(k in tree and matches(tree[k], v) for k, v in fragment.items())
    if isinstance(fragment, list):
        return (isinstance(tree, list) and len(tree) == len(fragment)
                and all(matches(t, f) for t, f in zip(tree, fragment, strict=True)))
    return bool(tree == fragment)


def contains(tree: Any, fragment: Any) -> bool:
    """Some subtree of `tree` matches `fragment`."""
    if matches(tree, fragment):
        return True
    children = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else ()
    return any(contains(child, fragment) for child in children)


def test_fixture_sizes() -> None:
    assert len(VALID) >= 40 and len(INVALID) >= 15


@pytest.mark.parametrize("case", VALID, ids=[c["query"] for c in VALID])
def test_valid(case: dict[str, Any]) -> None:
    node = ql.parse(case["query"])
    assert ql.describe(node) == case["ast"]
    dsl = ql.to_query(node)
    assert ql.compile_query(case["query"]) == dsl
    json.dumps(dsl)  # plain JSON: storable as a percolator query
    for fragment in case.get("dsl", []):
        assert contains(dsl, fragment), f"{fragment} not in {json.dumps(dsl)}"


@pytest.mark.parametrize("case", INVALID, ids=[c["query"] or "(empty)" for c in INVALID])
def test_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ql.QuerySyntaxError) as info:
        ql.parse(case["query"])
    assert (info.value.position, case["message"] in info.value.message) == (case["position"], True), \
        info.value.message
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"query error at column {case['position'] + 1}: ")


def test_limits() -> None:
    with pytest.raises(ql.QuerySyntaxError, match="query too long") as info:
        ql.parse("putin " * 400)
    assert info.value.position == ql.MAX_LENGTH
    words = [f"w{i}" for i in range(ql.MAX_CLAUSES + 1)]
    ql.parse(" ".join(words[:-1]))
    with pytest.raises(ql.QuerySyntaxError, match="too many terms") as info:
        ql.parse(" ".join(words))
    assert info.value.position == len(" ".join(words[:-1])) + 1
    deep = "(" * (ql.MAX_DEPTH + 1) + "a" + ")" * (ql.MAX_DEPTH + 1)
    with pytest.raises(ql.QuerySyntaxError, match="too deeply nested") as info:
        ql.parse(deep)
    assert info.value.position == ql.MAX_DEPTH
    ql.parse("(" * ql.MAX_DEPTH + "a" + ")" * ql.MAX_DEPTH)
    with pytest.raises(ql.QuerySyntaxError, match="too deeply nested"):
        ql.parse("NOT " * (ql.MAX_DEPTH + 1) + "a")


def test_positions_are_kept_but_not_compared() -> None:
    node = ql.parse('putin  -person:"Xi Jinping"')
    assert isinstance(node, ql.And)
    assert [c.position for c in node.children] == [0, 7]
    assert node == ql.And((ql.Term("putin"), ql.Not(ql.Field("person", "Xi Jinping"))))


@pytest.mark.parametrize("surface", ["Vladimir Putin", "the European Commission", "The European Commission's",
                                     "  Xi   Jinping ", "Élysée", "L'Aquila", "la Repubblica", "«Gazprom»",
                                     "Macron’s", "ÖVP", "Der Spiegel", "NATO"])
def test_entity_key_agrees_with_the_annotator(surface: str) -> None:
    # The copy in query_language (connectors do not import streams) must give the annotator's keys.
    assert ql.entity_name_key(surface) == annotator_fold(clean_surface(surface))


def test_text_fields_agree_with_search() -> None:
    assert ql.text_fields() == text_fields()
    assert ql.text_fields(frozenset({"it", "xx"})) == text_fields(None, frozenset({"it", "xx"}))
    assert ql.text_fields(frozenset({"fr"})) == text_fields("fr")


def test_languages_choose_the_analysed_fields() -> None:
    everywhere = ql.compile_query("putin")["multi_match"]["fields"]
    assert {f"i18n.{code}.text^1" for code in analysed_languages() | {"other"}} <= set(everywhere)
    italian = ql.compile_query('"cooperazione militare"', frozenset({"it"}))["multi_match"]
    assert italian == {"query": "cooperazione militare", "type": "phrase",
                       "fields": ["title^3", "summary^2", "i18n.it.title^3", "i18n.it.text^1"]}
    assert ql.compile_query("x", frozenset({"ja"}))["multi_match"]["fields"][2:] == ["i18n.other.title^3",
                                                                                     "i18n.other.text^1"]


def test_no_engine_syntax_reaches_the_engine() -> None:
    # Only these query types are produced: none parses the user's text as syntax.
    allowed = {"bool", "multi_match", "term", "terms"}
    queries = [ql.compile_query(case["query"]) for case in VALID]

    def kinds(tree: Any) -> set[str]:
        if isinstance(tree, list):
            return set().union(*(kinds(t) for t in tree)) if tree else set()
        if not isinstance(tree, dict):
            return set()
        if "bool" in tree:
            return {"bool"} | kinds([q for k, v in tree["bool"].items() if k != "minimum_should_match" for q in v])
        return set(tree)

    assert set().union(*(kinds(q) for q in queries)) <= allowed


def test_has_text() -> None:
    assert ql.has_text(ql.parse("putin lang:it"))
    assert not ql.has_text(ql.parse("person:Putin -nato"))


def test_build_query_parses_and_ands_the_options() -> None:
    body = build_query(SearchRequest(query='person:"Vladimir Putin" -nato', language="it", topic="politics"))
    query = body["query"]["bool"]
    assert query["must"] == [{"bool": {"filter": [{"term": {"entity_keys": "PER:vladimir putin"}}],
                                       "must_not": [ql.compile_query("nato", frozenset({"it"}))]}}]
    assert {"term": {"language": "it"}} in query["filter"] and {"term": {"topic_names": "politics"}} in query["filter"]
    assert "highlight" not in body  # only fields to match: nothing to highlight
    assert build_query(SearchRequest(query=""))["query"]["bool"]["must"] == [{"match_all": {}}]
    assert "highlight" in build_query(SearchRequest(query="cooperazione militare"))
    with pytest.raises(ql.QuerySyntaxError) as info:
        build_query(SearchRequest(query="putin AND"))
    assert info.value.position == 6


def test_cli_points_at_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from newsdesk.cli import app

    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSDESK_ELASTICSEARCH_URL", "http://127.0.0.1:9")  # never reached: checked before
    result = CliRunner().invoke(app, ["search", 'putin AND (xi OR'])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["query error at column 15: nothing after OR: it needs a term",
                                          "  putin AND (xi OR", "                ^"]


def test_api_answers_400_with_the_position(tmp_path: Path) -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from newsdesk.api import make_app
    from newsdesk.settings import Settings

    async def run() -> tuple[int, Any]:
        settings = Settings(data_dir=tmp_path, elasticsearch_url="http://127.0.0.1:9")
        async with TestClient(TestServer(make_app(settings))) as client:
            response = await client.get("/search", params={"q": "foo:bar putin"})
            return response.status, await response.json()

    status, body = asyncio.run(run())
    assert status == 400
    assert body == {"error": "query error at column 1: unknown field 'foo': use entity, person, org, place, topic, "
                             "lang or source", "position": 0}
