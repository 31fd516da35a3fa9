"""Keyword topic tagger (IPTC top level), multilingual by data."""

import pytest

from streams.nlp import topics


def test_all_17_iptc_subjects_are_defined() -> None:
    rules = topics.rules()
    assert len(rules) == 17 and len({r.code for r in rules}) == 17


@pytest.mark.parametrize(("title", "text", "expected"), [
    ("Juventus win the derby", "The coach praised the players after the football match at the stadium.", "sport"),
    ("Scossa di terremoto in Calabria", "Il terremoto ha causato il crollo di due case; soccorsi al lavoro.",
     "disaster, accident and emergency incident"),
    ("La BCE alza i tassi", "L'inflazione spinge la banca centrale; i mercati e la borsa reagiscono.",
     "economy, business and finance"),
    ("Missiles hit the city", "The army said the attack by drones and missiles was repelled; war goes on.",
     "conflict, war and peace"),
])
def test_top_topic(title: str, text: str, expected: str) -> None:
    assert topics.tag(title, text)[0].name == expected


def test_no_keywords_no_topic() -> None:
    assert topics.tag("Lorem ipsum", "dolor sit amet") == []
