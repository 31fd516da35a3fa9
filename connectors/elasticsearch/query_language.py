"""newsdesk's query language, one for search (`newsdesk search`, `GET /search?q=`) and alert subscriptions.

    cooperazione militare                      both words (implicit AND), stemmed per language
    "Xi Jinping" OR Putin                      a phrase, or a word
    person:"Vladimir Putin" AND NOT org:NATO   typed entities, by the annotator's normalised key
    topic:"conflict, war and peace" lang:it    keyword filters; -word is NOT word

Pure: parsing and translation only, no I/O and no engine client. `parse` gives an AST of frozen dataclasses
(positions kept, but not compared), `to_query` the engine DSL, the same on Elasticsearch and OpenSearch and
usable both as a search body's "query" and as a stored percolator query (only multi_match, term(s) and bool).
Nothing the user types reaches the engine as syntax: there is no query_string, and wildcards, fuzziness,
boosts and regular expressions are refused with a QuerySyntaxError that points at them.
The grammar, with examples, is in docs/query-language.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.elasticsearch.index import OTHER_LANGUAGES, analysed_languages, i18n_key

MAX_LENGTH = 2000  # characters in a query
MAX_CLAUSES = 40  # terms, phrases and field filters: each term expands to ~18 fields (engines cap at 1024)
MAX_DEPTH = 32  # nested parentheses and NOTs

SHARED_FIELDS = ["title^3", "summary^2"]  # every language: for cross-language queries
LANGUAGE_FIELDS = {"title": 3, "text": 1}  # under i18n.<language>; the body is indexed only there

FieldName = Literal["entity", "person", "org", "place", "topic", "lang", "source"]
FIELDS: tuple[FieldName, ...] = ("entity", "person", "org", "place", "topic", "lang", "source")
ALIASES: dict[str, FieldName] = {"language": "lang", "organisation": "org", "organization": "org",
                                 "location": "place", "site": "source"}
ENTITY_TYPES: dict[str, tuple[str, ...]] = {"entity": ("PER", "ORG", "LOC", "MISC"), "person": ("PER",),
                                            "org": ("ORG",), "place": ("LOC",)}


class QuerySyntaxError(ValueError):
    """A query that is not in the language; `position` is the 0-based offset of the error in the text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"query error at column {self.position + 1}: {self.message}"


# -- AST --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    text: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Phrase:
    text: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Field:
    name: FieldName
    value: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    child: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    position: int = field(default=0, compare=False)


Node = Term | Phrase | Field | Not | And | Or


def describe(node: Node) -> str:
    """A compact, unambiguous summary: `AND(putin, "xi jinping", NOT(person:"Joe Biden"))`."""
    match node:
        case Term(text):
            return text
        case Phrase(text):
            return f'"{text}"'
        case Field(name, value):
            return f'{name}:"{value}"'
        case Not(child):
            return f"NOT({describe(child)})"
        case And(children) | Or(children):
            return f"{type(node).__name__.upper()}({', '.join(describe(c) for c in children)})"
    raise TypeError(node)


# -- tokens -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Token:
    kind: Literal["word", "phrase", "field", "and", "or", "not", "minus", "(", ")", "end"]
    text: str
    position: int
    value: str = ""  # a field's value

    def shown(self) -> str:
        return {"minus": "'-'", "end": "the end", "(": "'('", ")": "')'"}.get(self.kind, self.text)


_OPERATORS = {"AND": "and", "OR": "or", "NOT": "not"}
_FIELD = re.compile(r"([A-Za-z_]+):")
_STOP = frozenset('()"') | frozenset(" \t\r\n\f\v")
_ENGINE_SYNTAX = {"*": "wildcards ('*') are not supported: search whole words (stemming finds other forms)",
                  "~": "fuzzy and proximity searches ('~') are not supported",
                  "^": "boosts ('^') are not supported"}
_INSTEAD = {"&&": "AND", "&": "AND", "||": "OR", "|": "OR", "!": "NOT"}


def _column(position: int) -> int:
    return position + 1


def _check_word(word: str, position: int) -> None:
    if len(word) > 2 and word.startswith("/") and word.endswith("/"):
        raise QuerySyntaxError("regular expressions are not supported: search words or \"phrases\"", position)
    if word in _INSTEAD:
        raise QuerySyntaxError(f"'{word}' is not an operator here: write {_INSTEAD[word]}", position)
    for offset, char in enumerate(word):
        if char in _ENGINE_SYNTAX:
            raise QuerySyntaxError(_ENGINE_SYNTAX[char], position + offset)
    if not any(c.isalnum() for c in word):
        raise QuerySyntaxError(f"nothing to search in '{word}': a term needs a letter or a digit", position)


def _phrase(text: str, start: int) -> tuple[str, int]:
    """The phrase whose opening quote is at `start`, and the offset after its closing quote."""
    end = text.find('"', start + 1)
    if end < 0:
        raise QuerySyntaxError(f"unbalanced quote: the phrase that starts at column {_column(start)} never ends",
                               start)
    inner = " ".join(text[start + 1:end].split())
    if not any(c.isalnum() for c in inner):
        raise QuerySyntaxError("empty phrase: put words between the quotes", start)
    return inner, end + 1


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))  # type: ignore[arg-type]
            i += 1
        elif char == '"':
            inner, end = _phrase(text, i)
            tokens.append(_Token("phrase", inner, i))
            i = end
        elif char == "-" and (i == 0 or text[i - 1].isspace() or text[i - 1] == "("):
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] == ")":
                raise QuerySyntaxError("'-' must be followed by what to exclude, without a space: -putin", i)
            tokens.append(_Token("minus", "-", i))
            i += 1
        else:
            start = i
            while i < n and text[i] not in _STOP:
                i += 1
            word = text[start:i]
            if word in _OPERATORS:
                tokens.append(_Token(_OPERATORS[word], word, start))  # type: ignore[arg-type]
                continue
            match = _FIELD.match(word)
            if match is None:
                _check_word(word, start)
                tokens.append(_Token("word", word, start))
                continue
            name = match.group(1).lower()
            canonical = ALIASES.get(name, name)
            if canonical not in FIELDS:
                raise QuerySyntaxError(f"unknown field '{match.group(1)}': use entity, person, org, place, topic, "
                                       "lang or source", start)
            value = word[match.end():]
            if not value:
                if i < n and text[i] == '"':
                    value, i = _phrase(text, i)
                elif i < n and text[i] == "(":
                    raise QuerySyntaxError(f"a field takes one value, not a group: write ({name}:a OR {name}:b)",
                                           i)
                else:
                    raise QuerySyntaxError(f"'{name}:' needs a value: {name}:word or {name}:\"some words\"",
                                           start)
            elif not any(c.isalnum() for c in value):
                raise QuerySyntaxError(f"nothing to search in the value of '{name}:'", start + match.end())
            tokens.append(_Token("field", canonical, start, value))
    tokens.append(_Token("end", "", n))
    return tokens


# -- parser -----------------------------------------------------------------------------------------------------

_OPERAND_START = frozenset({"word", "phrase", "field", "not", "minus", "("})


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.clauses = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def previous(self) -> _Token | None:
        return self.tokens[self.index - 1] if self.index else None

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def or_expr(self) -> Node:
        first = self.and_expr()
        children = [first]
        while self.token.kind == "or":
            self.advance()
            children.append(self.and_expr())
        return first if len(children) == 1 else Or(_flatten(Or, children), first.position)

    def and_expr(self) -> Node:
        first = self.not_expr()
        children = [first]
        while self.token.kind == "and" or self.token.kind in _OPERAND_START:
            if self.token.kind == "and":
                self.advance()
            children.append(self.not_expr())
        return first if len(children) == 1 else And(_flatten(And, children), first.position)

    def not_expr(self) -> Node:
        if self.token.kind in ("not", "minus"):
            operator = self.advance()
            self.enter(operator)
            child = self.not_expr()
            self.depth -= 1
            return child.child if isinstance(child, Not) else Not(child, operator.position)
        return self.primary()

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"too deeply nested: at most {MAX_DEPTH} levels of parentheses and NOT",
                                   token.position)

    def leaf(self, token: _Token) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QuerySyntaxError(f"too many terms: at most {MAX_CLAUSES} words, phrases and fields in a query",
                                   token.position)

    def primary(self) -> Node:
        token = self.token
        if token.kind == "word":
            self.leaf(self.advance())
            return Term(token.text, token.position)
        if token.kind == "phrase":
            self.leaf(self.advance())
            return Phrase(token.text, token.position)
        if token.kind == "field":
            self.leaf(self.advance())
            return Field(token.text, token.value, token.position)  # type: ignore[arg-type]
        if token.kind == "(":
            self.advance()
            self.enter(token)
            if self.token.kind == ")":
                raise QuerySyntaxError("empty parentheses: put a term between them", token.position)
            inner = self.or_expr()
            if self.token.kind != ")":
                if self.token.kind == "end":
                    raise QuerySyntaxError(f"unbalanced parenthesis: the '(' at column {_column(token.position)} "
                                           "is never closed", token.position)
                self.unexpected()
            self.advance()
            self.depth -= 1
            return inner
        self.unexpected()
        raise AssertionError("unreachable")

    def unexpected(self) -> None:
        token, previous = self.token, self.previous()
        operator = previous if previous is not None and previous.kind in ("and", "or", "not", "minus") else None
        if token.kind == "end":
            if operator is not None:
                raise QuerySyntaxError(f"nothing after {operator.shown()}: it needs a term", operator.position)
            if previous is not None and previous.kind == "(":
                raise QuerySyntaxError(f"unbalanced parenthesis: the '(' at column {_column(previous.position)} "
                                       "is never closed", previous.position)
            raise QuerySyntaxError("empty query: type words, \"phrases\" or field:value", token.position)
        if token.kind in ("and", "or"):
            if operator is not None:
                raise QuerySyntaxError(f"nothing between {operator.shown()} and {token.text}", token.position)
            raise QuerySyntaxError(f"nothing before {token.text}: it needs a term on each side", token.position)
        if token.kind == ")":
            if operator is not None:
                raise QuerySyntaxError(f"nothing after {operator.shown()}: it needs a term", operator.position)
            raise QuerySyntaxError(f"unbalanced parenthesis: the ')' at column {_column(token.position)} has no "
                                   "matching '('", token.position)
        raise QuerySyntaxError(f"unexpected {token.shown()}", token.position)


def _flatten(kind: type[And] | type[Or], children: list[Node]) -> tuple[Node, ...]:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return tuple(flat)


def parse(text: str) -> Node:
    """The AST of `text`; QuerySyntaxError (with the offending position) if it is not in the language."""
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"query too long: {len(text)} characters, at most {MAX_LENGTH}", MAX_LENGTH)
    parser = _Parser(_tokens(text))
    node = parser.or_expr()
    if parser.token.kind != "end":
        parser.unexpected()
    return node


# -- entity keys ------------------------------------------------------------------------------------------------
# A copy of the annotator's key normalisation (streams/nlp/normalise.py: clean_surface, then fold, prefixed by
# the type), which connectors must not import. tests/unit/test_query_language.py checks the two agree.

_EDGE_JUNK = re.compile(r"^[\W_]+|[\W_]+$")
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")
_LEADING_ARTICLE = re.compile(r"^(?:the|la|le|il|lo|l'|l’|les|el|los|las|der|die|das)\s+", re.IGNORECASE)
_KEY = re.compile(r"^(PER|ORG|LOC|MISC):(.+)$")


def entity_name_key(name: str) -> str:
    """The normalised name part of an entity key: "the European Commission's" -> "european commission"."""
    text = _POSSESSIVE.sub("", " ".join(name.split()))
    if text[:4].lower() == "the " and len(text) > 4:
        text = text[4:]
    text = _EDGE_JUNK.sub("", text)
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _LEADING_ARTICLE.sub("", " ".join(stripped.casefold().split()))


def entity_keys(name: FieldName, value: str) -> list[str]:
    """The `entity_keys` values a field matches: one per type it allows. A value already written as a key
    ("PER:vladimir putin") is taken as it is, if its type is allowed."""
    types = ENTITY_TYPES[name]
    given = _KEY.match(value.strip())
    if given is not None and given.group(1) in types:
        return [f"{given.group(1)}:{entity_name_key(given.group(2))}"]
    key = entity_name_key(value)
    return [f"{etype}:{key}" for etype in types]


# -- to the engine DSL ------------------------------------------------------------------------------------------

def text_fields(languages: frozenset[str] | None = None) -> list[str]:
    """The fields a word or phrase is matched in: the shared ones plus each language's analysed title and
    text (those of `languages`; None: every language with an analyzer, and the fallback)."""
    codes = (analysed_languages() | {OTHER_LANGUAGES} if languages is None
             else {i18n_key(code) for code in languages})
    return SHARED_FIELDS + [f"i18n.{code}.{name}^{boost}" for code in sorted(codes)
                            for name, boost in LANGUAGE_FIELDS.items()]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _field_query(node: Field) -> dict[str, Any]:
    value = " ".join(node.value.split())
    if node.name in ENTITY_TYPES:
        keys = entity_keys(node.name, value)
        return {"term": {"entity_keys": keys[0]}} if len(keys) == 1 else {"terms": {"entity_keys": keys}}
    if node.name == "topic":
        return {"terms": {"topic_names": _unique([value, value.lower()])}}
    if node.name == "lang":
        return {"term": {"language": value.lower()}}
    # source: the site (a host name, lower case), the feed's title or its URL, as `--source` does
    return {"bool": {"should": [{"terms": {"site": _unique([value, value.lower()])}},
                                {"term": {"feed_title": value}},
                                {"term": {"feed_url": value}}], "minimum_should_match": 1}}


def to_query(node: Node, languages: frozenset[str] | None = None) -> dict[str, Any]:
    """The engine query for `node`. Words must all occur (each anywhere: title, summary or the text in any of
    `languages`), phrases word for word after analysis; fields are exact filters (no score)."""
    fields = text_fields(languages)
    if isinstance(node, Term):
        return {"multi_match": {"query": node.text, "fields": fields, "operator": "and"}}
    if isinstance(node, Phrase):
        return {"multi_match": {"query": node.text, "fields": fields, "type": "phrase"}}
    if isinstance(node, Field):
        return _field_query(node)
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_query(node.child, languages)]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_query(c, languages) for c in node.children], "minimum_should_match": 1}}
    clauses: dict[str, list[dict[str, Any]]] = {"must": [], "filter": [], "must_not": []}
    for child in node.children:
        if isinstance(child, Not):
            clauses["must_not"].append(to_query(child.child, languages))
        else:
            clauses["filter" if isinstance(child, Field) else "must"].append(to_query(child, languages))
    return {"bool": {kind: queries for kind, queries in clauses.items() if queries}}


def compile_query(text: str, languages: frozenset[str] | None = None) -> dict[str, Any]:
    """parse + to_query: QuerySyntaxError for a query not in the language."""
    return to_query(parse(text), languages)


def has_text(node: Node) -> bool:
    """Whether `node` searches words or phrases (worth highlighting), not only fields."""
    if isinstance(node, Term | Phrase):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And | Or):
        return any(has_text(child) for child in node.children)
    return False
