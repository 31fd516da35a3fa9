"""Names whose type is in the name itself (streams/nlp/name_types.py): known places and head words."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from streams.nlp import name_types
from streams.nlp.normalise import Mention


@pytest.mark.parametrize(("surface", "label", "source", "expected"), [
    ("Alaska", "PER", "model", "LOC"),  # a region typed as a person
    ("Slovacchia", "ORG", "model", "LOC"),  # a country typed as an organisation
    ("Papua Nuova Guinea", "ORG", "model", "LOC"),
    ("Brisbane", "PER", "model", "LOC"),  # a city typed as a person
    ("Trento", "ORG", "model", "ORG"),  # a city typed ORG may be its club or council
    ("Jordan", "PER", "model", "PER"),  # a region that is also a person's name stays a person
    ("Jordan", "ORG", "model", "LOC"),  # ... but not an organisation
    ("Austin", "PER", "model", "PER"),  # a city that is also a name is left out of the list
    ("Harvard Business School", "PER", "model", "ORG"),  # head word last
    ("Banca Popolare", "LOC", "model", "ORG"),  # head word first
    ("Royal Navy", "GPE", "model", "ORG"),  # the English model's labels too
    ("Monte Kenya", "ORG", "model", "LOC"),
    ("Oceano Indiano", "ORG", "model", "LOC"),
    ("Potomac River", "PERSON", "model", "LOC"),
    ("Lake County Council", "LOC", "model", "ORG"),  # both: the organisation wins
    ("Premier League", "MISC", "model", "MISC"),  # MISC is a competition, a law, a work: never retyped
    ("Alaska", "PER", "rule", "PER"),  # what a rule or the gazetteer typed stays
    ("BBC NEWS", "PER", "model", "PER"),  # all caps: page furniture or an acronym, not for this rule
    ("School", "PER", "model", "PER"),  # one word: a head word alone says nothing
    ("Rossi", "PER", "model", "PER"),
    ("Michael Bay", "PER", "model", "PER"),  # a person the name lists recognise keeps the model's PER
    ("Veronica Lake", "PER", "model", "PER"),
    ("Emily Post", "PER", "model", "PER"),
    ("Soviet Union", "LOC", "model", "LOC"),  # states go by union, federation and bank too
    ("Federazione Russa", "LOC", "model", "LOC"),
    ("West Bank", "LOC", "model", "LOC"),
    ("Diego Garcia", "PER", "model", "PER"),  # a place, but also a given name and a surname
    ("Battaglia di Marengo", "LOC", "model", "MISC"),  # an event, an agreement, a competition, a period
    ("Treaty of Nanking", "ORG", "model", "MISC"),
    ("Accordo di Parigi", "ORG", "model", "MISC"),
    ("Australian Open", "GPE", "model", "MISC"),
    ("Bronze Age", "PERSON", "model", "MISC"),
    ("Seconda guerra mondiale", "LOC", "model", "MISC"),
    ("Islam", "LOC", "model", "MISC"),  # a religion, a period, a feast: one word is enough
    ("Rinascimento", "ORG", "model", "MISC"),
    ("Brexit", "PER", "model", "MISC"),
    ("Ministry of War", "LOC", "model", "ORG"),  # an organisation's head word wins over an event's
    ("Gulf War", "LOC", "model", "MISC"),  # ... and an event's over a place's
    ("Giochi Olimpici", "MISC", "model", "MISC"),
    ("Natale Rossi", "PER", "model", "PER"),  # a feast's name as a given name: only a one-word name is retyped
])
def test_names_that_say_their_type_are_retyped(surface: str, label: str, source: str, expected: str) -> None:
    [out] = name_types.apply([Mention(surface, label, 3, source)])
    assert (out.text, out.start, out.source) == (surface, 3, source)
    assert out.label == expected


def test_head_words_are_lowercase_and_typed_once() -> None:
    raw = json.loads((resources.files("streams.nlp") / "data" / "name_heads.json").read_text("utf-8"))
    for end in ("first", "last"):
        org, misc, loc = set(raw["ORG"][end]), set(raw["MISC"][end]), set(raw["LOC"][end])
        twice = (org & loc) | (org & misc) | (misc & loc)
        assert not twice, f"{end}: a head word with two types: {sorted(twice)}"
        assert all(w == w.casefold() for w in org | misc | loc)
    assert all(w == w.casefold() and " " not in w for w in raw["MISC"]["whole"])


def test_place_lists_keep_clubs_and_people_apart() -> None:
    known = name_types.places()
    assert {"italia", "italy", "slovacchia", "europa", "alaska", "florida"} <= known.regions
    assert {"brisbane", "vladivostok", "parigi", "pechino"} <= known.cities
    assert not known.cities & known.regions
    assert known.people <= known.regions and "jordan" in known.people
    assert "austin" not in known.cities and "union" not in known.cities  # a name; a common word


@pytest.mark.parametrize(("surface", "label", "expected"), [
    ("GCHQ", "PER", "ORG"),  # an initialism read as a person or a place is an organisation
    ("IRENA", "LOC", "ORG"),
    ("AT&T", "GPE", "ORG"),
    ("USA", "LOC", "LOC"),  # ... unless it is a place's
    ("URSS", "PER", "PER"),  # a place's initialism is left as the model read it
    ("XIV", "ORG", "ORG"),  # a numeral, not an initialism (streams/nlp/regnal_names.py)
    ("BBC", "MISC", "MISC"),  # MISC may be a product or a work
    ("BBC NEWS", "PER", "PER"),  # two words in capitals: furniture or a headline, not an initialism
    ("Gchq", "PER", "PER"),  # not written as an initialism
])
def test_initialisms_are_organisations(surface: str, label: str, expected: str) -> None:
    [out] = name_types.apply([Mention(surface, label, 0, "model")])
    assert out.label == expected


@pytest.mark.parametrize(("text", "mentions", "expected"), [
    ("La Papua Nuova Guinea vota.", [("Papua", "PER"), ("Nuova Guinea", "LOC")], [("Papua Nuova Guinea", "LOC")]),
    ("In Papua, Nuova Guinea", [("Papua", "LOC"), ("Nuova Guinea", "LOC")],
     [("Papua", "LOC"), ("Nuova Guinea", "LOC")]),  # not one space apart
    ("Mario Rossi Roma", [("Mario Rossi", "PER"), ("Roma", "LOC")], [("Mario Rossi", "PER"), ("Roma", "LOC")]),
])
def test_a_known_place_cut_in_two_is_joined(text: str, mentions: list[tuple[str, str]],
                                            expected: list[tuple[str, str]]) -> None:
    found = [Mention(surface, label, text.index(surface), "model") for surface, label in mentions]
    out = name_types.join_places(text, found)
    assert [(m.text, m.label) for m in out] == expected
    assert all(text[m.start:m.start + len(m.text)] == m.text for m in out)
