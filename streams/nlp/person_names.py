"""Names the model typed as a place or an organisation, retyped as people when a name list says they are.

Why: on real text (tests/fixtures/ner-real/) the commonest error of the models is not a missed name but a
person typed LOC or ORG: a lone surname the model never saw ("Clinton", "Osborne", "Poettering") or a full name
starting with a given name ("Benoit Paire"). Italian PUD had 109 such confusions in 397 documents. A list of
given names and surnames of many languages (streams/nlp/data/person_names.json, built from faker's person
providers by streams/nlp/training/build_person_names.py) fixes them without a model change:

- a one-word mention typed LOC/ORG/MISC whose word is a listed name becomes PER;
- a mention of two or three capitalised words whose first word is a listed given name becomes PER.

The list leaves out what would make this rule wrong: place and country names (GeoNames, CLDR), language and
nationality names (CLDR: "French"), and words that are common words in some language (a lowercase whole word
of the multilingual sentence encoder's vocabulary: "house", "porto", "palma"). Rule matches (gazetteer,
institution rules) and all-caps words (acronyms) are never retyped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from streams.nlp.normalise import LABELS, Mention

_CAPITALISED = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*")
_RETYPED = frozenset({"LOC", "ORG", "MISC"})


@dataclass(frozen=True)
class Names:
    given: frozenset[str]  # given names only: what can start a full name
    any: frozenset[str]  # given names and surnames: what can be a person on its own


@cache
def names() -> Names:
    raw = json.loads(resources.files("streams.nlp").joinpath("data", "person_names.json").read_text("utf-8"))
    return Names(frozenset(raw["given"]), frozenset(raw["given"]) | frozenset(raw["surnames"]))


def _is_person(text: str, listed: Names) -> bool:
    words = text.split()
    if len(words) == 1:
        return text in listed.any
    return (2 <= len(words) <= 3 and words[0] in listed.given
            and all(w[:1].isupper() and _CAPITALISED.fullmatch(w) for w in words))


def is_person(text: str) -> bool:
    """Whether the name lists say `text` is a person (a listed name alone, or a given name then capitalised words)."""
    return _is_person(text, names())


def apply(mentions: list[Mention]) -> list[Mention]:
    """The mentions, with listed people typed PER (offsets and surfaces unchanged)."""
    listed = names()
    out = []
    for mention in mentions:
        if (LABELS.get(mention.label) in _RETYPED and mention.source != "rule" and not mention.text.isupper()
                and _is_person(mention.text, listed)):
            mention = Mention(mention.text, "PER", mention.start, mention.source)
        out.append(mention)
    return out
