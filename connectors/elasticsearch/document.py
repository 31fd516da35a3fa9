"""AnnotatedArticle -> the Elasticsearch document the template in deploy/elasticsearch maps. Pure."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from connectors.elasticsearch.index import i18n_key
from streams.records import AnnotatedArticle

_BY_TYPE = {"PER": "persons", "ORG": "organisations", "LOC": "locations", "MISC": "misc"}


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for entity filters (`newsdesk search --entity`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def to_document(item: AnnotatedArticle, indexed_at: datetime | None = None) -> dict[str, Any]:
    article, annotation = item.article, item.annotation
    doc: dict[str, Any] = article.model_dump(mode="json")
    doc["site"] = urlsplit(article.url or article.feed_url).hostname
    doc["language"] = annotation.language
    # The body is analysed once, with the language's own analyzer (or the fallback); the title there too.
    doc["i18n"] = {i18n_key(annotation.language): {"title": article.title, "text": article.text}}
    doc["language_score"] = annotation.language_score
    doc["entities"] = [{**e.model_dump(), "name_folded": fold(e.name)} for e in annotation.entities]
    doc["entity_keys"] = [e.key for e in annotation.entities]
    for etype, field in _BY_TYPE.items():
        doc[field] = [e.name for e in annotation.entities if e.type == etype]
    doc["topics"] = [t.model_dump() for t in annotation.topics]
    doc["topic_names"] = [t.name for t in annotation.topics]
    doc["models"] = annotation.models
    doc["annotated_at"] = item.annotated_at.isoformat()
    doc["indexed_at"] = (indexed_at or datetime.now(UTC)).isoformat()
    return doc
