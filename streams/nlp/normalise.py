"""One entity vocabulary across models, and one entity per real-world thing within an article.

Labels: OntoNotes (English spaCy) and WikiNER (French/Italian/Spanish spaCy) are mapped to PER/ORG/LOC/MISC.
Dropped: numeric and temporal labels (DATE, TIME, MONEY, PERCENT, QUANTITY, ORDINAL, CARDINAL) and LANGUAGE,
which are not things people search or subscribe to.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from streams.records import Entity, EntityType

LABELS: dict[str, EntityType] = {
    "PERSON": "PER", "PER": "PER",
    "ORG": "ORG",
    "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
    "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "MISC": "MISC",
}
# What models emit and the project drops on purpose (OntoNotes numeric/temporal labels and LANGUAGE).
DROPPED = frozenset({"DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL", "LANGUAGE"})

_EDGE_JUNK = re.compile(r"^[\W_]+|[\W_]+$")
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")
_LEADING_ARTICLE = re.compile(r"^(?:the|la|le|il|lo|l'|l’|les|el|los|las|der|die|das)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    text: str
    label: str  # the model's own label, or PER/ORG/LOC/MISC when a rule or propagation set it
    start: int  # character offset
    source: str = "model"  # "model", "rule" (streams/nlp/rules.py) or "propagated" (streams/nlp/propagate.py)

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@lru_cache(maxsize=4096)  # called several times per mention (rules, propagation, normalising): ~2% of Italian NER
def clean_surface(text: str) -> str:
    text = " ".join(text.split())
    text = _POSSESSIVE.sub("", text)
    if text[:4].lower() == "the " and len(text) > 4:  # spaCy's English model includes it: "the European Commission"
        text = text[4:]
    return _EDGE_JUNK.sub("", text)


@lru_cache(maxsize=4096)  # surfaces recur within an article and a batch; small, so a long run stays flat
def fold(text: str) -> str:
    """Comparison form: accents removed, case folded, leading article dropped, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _LEADING_ARTICLE.sub("", " ".join(stripped.casefold().split()))


def _display_score(surface: str) -> tuple[int, int, int]:
    # Prefer more tokens, then mixed case over SHOUTING, then the longer form.
    return (len(surface.split()), int(not surface.isupper()), len(surface))


def normalise(mentions: list[Mention]) -> list[Entity]:
    """Group mentions into entities; a lone surname or first name joins the full name seen in the article."""
    groups: dict[tuple[EntityType, str], dict] = {}
    for mention in sorted(mentions, key=lambda m: m.start):
        etype = LABELS.get(mention.label)
        surface = clean_surface(mention.text)
        if etype is None or len(surface) < 2 or not any(c.isalpha() for c in surface):
            continue
        group = groups.setdefault((etype, fold(surface)), {"surfaces": [], "mentions": 0, "first": mention.start})
        group["surfaces"].append(surface)
        group["mentions"] += 1
        group["first"] = min(group["first"], mention.start)

    # Merge single-token person names into the multi-token name that ends (or starts) with them.
    for (etype, key) in list(groups):
        if etype != "PER" or " " in key:
            continue
        fuller = [k for (t, k) in groups if t == "PER" and " " in k and (k.split()[-1] == key or k.split()[0] == key)]
        if len(fuller) == 1:  # ambiguous surnames (two Bidens) stay apart
            target, source = groups[("PER", fuller[0])], groups.pop((etype, key))
            target["surfaces"] += source["surfaces"]
            target["mentions"] += source["mentions"]
            target["first"] = min(target["first"], source["first"])

    entities = []
    for (etype, _), group in groups.items():
        name = max(group["surfaces"], key=_display_score)
        entities.append(Entity(key=f"{etype}:{fold(name)}", name=name, type=etype,
                               mentions=group["mentions"], first_offset=group["first"]))
    entities.sort(key=lambda e: (-e.mentions, e.first_offset))
    return entities
