"""Entity rules (streams/nlp/rules.py) and propagation within an article (streams/nlp/propagate.py): pure logic.

Each case is an article with the model's mentions marked inline, [[surface|LABEL]], and the (surface, type) list
expected after tidy -> rules -> propagate, in text order. Tokens come from a simple word/punctuation split, as
spaCy would cut these texts.
"""

from __future__ import annotations

import re

import pytest

from streams.nlp import rules
from streams.nlp.normalise import DROPPED, LABELS, Mention
from streams.nlp.propagate import propagate, tidy

MARK = re.compile(r"\[\[([^\[\]|]+)\|([A-Z_]+)\]\]")


def parse(marked: str) -> tuple[str, list[Mention], int]:
    """Plain text, the marked mentions, and where the title ends (the title is the first line)."""
    plain, mentions, last = "", [], 0
    for m in MARK.finditer(marked):
        plain += marked[last:m.start()]
        mentions.append(Mention(m[1], m[2], len(plain)))
        plain, last = plain + m[1], m.end()
    plain += marked[last:]
    return plain, mentions, plain.index("\n\n") if "\n\n" in plain else 0


def tokens(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]


def run(marked: str, language: str = "en", use_rules: bool = False) -> tuple[str, list[Mention]]:
    text, mentions, title_end = parse(marked)
    found = tidy(text, mentions)
    if use_rules:
        found = rules.apply(language, text, tokens(text), found)
    return text, propagate(text, found, tokens(text), title_end)


def typed(mentions: list[Mention]) -> list[tuple[str, str]]:
    return [(m.text, LABELS[m.label]) for m in mentions if m.label in LABELS]


PROPAGATION = [
    ("surname after the full name",
     "Putin visit\n\n[[Vladimir Putin|PERSON]] arrived. Putin's aides said Putin would stay.",
     [("Putin", "PER"), ("Vladimir Putin", "PER"), ("Putin", "PER"), ("Putin", "PER")]),
    ("a lone surname the model mistyped follows the full name",
     "Budget\n\n[[Rachel Reeves|PERSON]] spoke. [[Reeves|ORG]] said so.",
     [("Rachel Reeves", "PER"), ("Reeves", "PER")]),
    ("two people share the surname: the lone surname is left alone",
     "Visit\n\n[[Joe Biden|PERSON]] and [[Jill Biden|PERSON]] came. Biden spoke.",
     [("Joe Biden", "PER"), ("Jill Biden", "PER")]),
    ("an organisation's acronym",
     "Figures\n\nThe [[Office for National Statistics|ORG]] said prices rose. ONS data showed it.",
     [("Office for National Statistics", "ORG"), ("ONS", "ORG")]),
    ("an organisation's short form",
     "Vote\n\n[[Reform UK|ORG]] won the county. Reform now leads.",
     [("Reform UK", "ORG"), ("Reform", "ORG")]),
    ("the majority type wins for one surface",
     "Match\n\n[[Chelsea|PERSON]] lost. Fans of [[Chelsea|ORG]] left. [[Chelsea|ORG]] are fifth.",
     [("Chelsea", "ORG"), ("Chelsea", "ORG"), ("Chelsea", "ORG")]),
    ("the body decides over the headline",
     "[[Liverpool|GPE]] win\n\n[[Liverpool|ORG]] beat everyone.",
     [("Liverpool", "ORG"), ("Liverpool", "ORG")]),
    ("a tie between body mentions goes to the first",
     "News\n\n[[Jordan|GPE]] said. Then [[Jordan|PERSON]] left.",
     [("Jordan", "LOC"), ("Jordan", "LOC")]),
    ("a shouting headline",
     "PUTIN WARNS WEST\n\n[[Vladimir Putin|PERSON]] spoke.",
     [("PUTIN", "PER"), ("Vladimir Putin", "PER")]),
    ("a lowercase headline: several words only",
     "vladimir putin warns putin\n\n[[Vladimir Putin|PERSON]] spoke.",
     [("vladimir putin", "PER"), ("Vladimir Putin", "PER")]),
    ("never inside a token",
     "Ideas\n\n[[Vladimir Putin|PERSON]] spoke of Putinism.",
     [("Vladimir Putin", "PER")]),
    ("never over another mention, whatever its label",
     "Talks\n\n[[Theresa May|PERSON]] met in [[Downing Street|FAC]]. By [[May 2024|DATE]] talks on May Street.",
     [("Theresa May", "PER"), ("Downing Street", "LOC")]),
    ("a surname that is also a calendar word is not propagated",
     "Talks\n\n[[Theresa May|PERSON]] resigned in May.",
     [("Theresa May", "PER")]),
    ("a lowercase-led name gives no surname",
     "Ville\n\nLe maire [[de Marseille|PERSON]] parle. Marseille attend.",
     [("de Marseille", "PER")]),
]


@pytest.mark.parametrize("name,marked,expected", PROPAGATION, ids=[c[0] for c in PROPAGATION])
def test_propagation(name: str, marked: str, expected: list[tuple[str, str]]) -> None:
    text, found = run(marked)
    assert typed(found) == expected
    check_invariants(text, found)


RULES = [
    ("a party the model calls NORP",
     "Vote\n\nThe [[Liberal Democrats|NORP]] came second.", "en",
     [("Liberal Democrats", "ORG")]),
    ("a council name cut where the name ends, and the short form of the party",
     "[[Reform UK|ORG]] takes [[Kent County Council Reform|ORG]]\n\nReform won.", "en",
     [("Reform UK", "ORG"), ("Kent County Council", "ORG"), ("Reform", "ORG"), ("Reform", "ORG")]),
    ("head with of-continuation",
     "Rates\n\nThe Bank of England held rates; the University of Leeds agreed.", "en",
     [("Bank of England", "ORG"), ("University of Leeds", "ORG")]),
    ("police force the model calls a place",
     "Crime\n\n[[West Yorkshire Police|GPE]] said officers went to [[Call Lane|ORG]].", "en",
     [("West Yorkshire Police", "ORG"), ("Call Lane", "LOC")]),
    ("a club named after its city, in a sports article",
     "Derby\n\n[[Liverpool|GPE]] beat [[Everton|GPE]] in the league; the manager praised the fans.", "en",
     [("Liverpool", "ORG"), ("Everton", "ORG")]),
    ("the same name outside sport stays a place",
     "Rain\n\nHeavy rain hit [[Liverpool|GPE]] on Monday.", "en",
     [("Liverpool", "LOC")]),
    ("a gazetteer name inside a longer model name keeps the model's name",
     "Radio\n\n[[BBC Radio 4|ORG]] aired it.", "en",
     [("BBC Radio 4", "ORG")]),
    ("a headline run-on is cut at the line break and a score is dropped",
     "Arsenal beat [[Chelsea 2-1|ORG]] at [[Liverpool\n\nArsenal|ORG]]\n\nArsenal won the match.", "en",
     [("Arsenal", "ORG"), ("Chelsea", "ORG"), ("Liverpool", "ORG"), ("Arsenal", "ORG"), ("Arsenal", "ORG")]),
    ("French: institution with its seat, elided article",
     "Procès\n\nLe tribunal correctionnel de Paris a jugé [[l'ONU|ORG]].", "fr",
     [("tribunal correctionnel de Paris", "ORG"), ("ONU", "ORG")]),
]


@pytest.mark.parametrize("name,marked,language,expected", RULES, ids=[c[0] for c in RULES])
def test_rules(name: str, marked: str, language: str, expected: list[tuple[str, str]]) -> None:
    text, found = run(marked, language, use_rules=True)
    assert typed(found) == expected
    check_invariants(text, found)


def check_invariants(text: str, found: list[Mention]) -> None:
    """Offsets point at the surface, mentions never overlap, and start and end on token boundaries."""
    starts, ends = {s for s, _ in tokens(text)}, {e for _, e in tokens(text)}
    previous_end = -1
    for m in sorted(found, key=lambda m: m.start):
        assert text[m.start:m.end] == m.text
        assert m.start >= previous_end, f"overlap at {m}"
        assert m.start in starts and m.end in ends, f"{m} crosses a token boundary"
        previous_end = m.end


def test_rule_data_is_well_formed() -> None:
    for language in ("en", "fr", "it"):
        rule_set = rules.rules_for(language)
        assert {t for t, _ in rule_set.names.values()} <= {"PER", "ORG", "LOC", "MISC"}
        assert {c for _, c in [*rule_set.names.values(), *rule_set.heads.values()] if c} <= set(rule_set.contexts)
    assert "Liberal Democrats" in rules.rules_for("en").names and "Liberal Democrats" not in rules.rules_for("fr").names


def test_every_english_model_label_is_mapped_or_dropped() -> None:
    from streams.nlp import models

    labels = set(models.load("en_core_web_sm").get_pipe("ner").labels)  # type: ignore[attr-defined]
    assert labels and labels <= set(LABELS) | DROPPED
    assert not set(LABELS) & DROPPED
