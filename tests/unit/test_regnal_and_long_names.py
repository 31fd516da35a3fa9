"""Names the model cut short or typed by their numeral (streams/nlp/regnal_names.py, streams/nlp/long_names.py)."""

from __future__ import annotations

import pytest

from streams.nlp import long_names, regnal_names
from streams.nlp.normalise import Mention


def _run(module: object, language: str, text: str, mentions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found = [Mention(surface, label, text.index(surface), "model") for surface, label in mentions]
    out = module.apply(language, text, found)  # type: ignore[attr-defined]
    assert all(text[m.start:m.start + len(m.text)] == m.text for m in out)
    return [(m.text, m.label) for m in out]


@pytest.mark.parametrize(("language", "text", "mentions", "expected"), [
    ("it", "Nel 1963 Paolo VI fu eletto.", [("Paolo", "PER")], [("Paolo VI", "PER")]),  # the numeral taken in
    ("it", "Il figlio Aminta I regnò.", [("Aminta", "ORG")], [("Aminta I", "PER")]),  # a one-word ORG + numeral
    ("it", "Sotto Tutmose III l'Egitto crebbe.", [("Tutmose III", "LOC")], [("Tutmose III", "PER")]),
    ("it", "Il re Luigi XIV morì.", [("XIV", "ORG")], []),  # a numeral alone is no name
    ("it", "Sulla XXVIII relazione.", [("XXVIII", "LOC")], []),
    ("it", "Film Disney I Muppet.", [("Disney", "ORG")], [("Disney", "ORG")]),  # capitalised word after: a title
    ("it", "La Regio II Apulia era vasta.", [("Regio", "LOC")], [("Regio", "LOC")]),
    ("en", "I asked Smith I think.", [("Smith", "PERSON")], [("Smith", "PERSON")]),  # English "I" is a pronoun
    ("en", "In Pyongyang I did see people.", [("Pyongyang", "GPE")], [("Pyongyang", "GPE")]),
    ("en", "Earldoms existed under Henry I and these", [("Henry", "PERSON")], [("Henry I", "PER")]),
    ("en", "Their first king was Mojmír I (ruled 830-846).", [("Mojmír", "PERSON")], [("Mojmír I", "PER")]),
    ("en", "Pope Paul VI was elected.", [("Paul", "PERSON")], [("Paul VI", "PER")]),
    ("it", "La Roma di Mario Rossi IV.", [("Roma", "MISC")], [("Roma", "MISC")]),  # MISC is left alone
    ("it", "Il governo Rossi II.", [("governo", "ORG")], [("governo", "ORG")]),  # not a capitalised name
])
def test_rulers_take_their_numeral(language: str, text: str, mentions: list[tuple[str, str]],
                                   expected: list[tuple[str, str]]) -> None:
    assert _run(regnal_names, language, text, mentions) == expected


@pytest.mark.parametrize(("text", "mentions", "expected"), [
    ("La Società Reale per la Protezione degli Uccelli protesta.", [("Società Reale", "ORG"), ("Uccelli", "LOC")],
     [("Società Reale per la Protezione degli Uccelli", "ORG")]),
    ("L'Unione Americana per le Libertà Civili fa causa.", [("Unione Americana", "ORG"), ("Libertà Civili", "LOC")],
     [("Unione Americana per le Libertà Civili", "ORG")]),
    ("L'Agenzia Internazionale per l'Energia Atomica", [("Agenzia Internazionale", "ORG")],
     [("Agenzia Internazionale per l'Energia Atomica", "ORG")]),
    ("L'Unione Europea per anni ha taciuto.", [("Unione Europea", "ORG")], [("Unione Europea", "ORG")]),
    ("La Banca d'Italia per la prima volta", [("Banca d'Italia", "ORG")], [("Banca d'Italia", "ORG")]),
    ("Il governo per la Ricostruzione", [("governo", "ORG")], [("governo", "ORG")]),  # not a capitalised name
    ("Lavora per la Fiat a Torino.", [("Torino", "LOC")], [("Torino", "LOC")]),  # only organisations go on
])
def test_italian_organisations_go_on_after_per(text: str, mentions: list[tuple[str, str]],
                                               expected: list[tuple[str, str]]) -> None:
    assert _run(long_names, "it", text, mentions) == expected


def test_other_languages_are_left_alone() -> None:
    text = "The Union per la Libertà"
    assert _run(long_names, "en", text, [("Union", "ORG")]) == [("Union", "ORG")]
