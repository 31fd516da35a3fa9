"""The seed article's gold annotation (tests/fixtures/seed-article.gold.json) as one check, shared by the unit
test of the annotator and the end-to-end test of the running pipeline."""

from __future__ import annotations

from typing import Any

from streams.nlp.normalise import fold
from streams.records import Annotation


def _found(annotation: Annotation, name: str, etype: str, surfaces: list[str]) -> bool:
    wanted = {fold(s) for s in [name, *surfaces]}
    return any(e.type == etype and fold(e.name) in wanted for e in annotation.entities)


def gold_problems(annotation: Annotation, gold: dict[str, Any]) -> list[str]:
    """Everything in which the annotation falls short of the gold: empty when it meets it."""
    problems = []
    if annotation.language != gold["language"]:
        problems.append(f"language {annotation.language!r}, expected {gold['language']!r}")
    for required in gold["entities"]["required"]:
        if not _found(annotation, required["name"], required["type"], required["surface_forms"]):
            problems.append(f"required {required['type']} {required['name']!r} not found")
    forbidden = {fold(f) for f in gold["entities"]["forbidden_examples"]}
    problems += [f"forbidden span {e.name!r} ({e.type})" for e in annotation.entities if fold(e.name) in forbidden]
    topics = {t.name for t in annotation.topics}
    if not topics & set(gold["topics"]["required_any_of"]):
        problems.append(f"topics {sorted(topics)} hold none of {gold['topics']['required_any_of']}")
    return problems
