"""Keyword terms: a phrase or a "re:" regex, compiled case-insensitively, with what any match requires."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Python >= 3.11 (the project's floor) keeps the regex parser private
from re import _compiler as sre_compile
from re import _constants as sre_constants
from re import _parser as sre_parse

REGEX_PREFIX = "re:"
WORD = re.compile(r"\w+")
_PHRASE_SEPARATOR = r"[\s\-\u2010-\u2015]+"  # whitespace, hyphens and dashes between the words of a phrase
_SPLIT_PHRASE = re.compile(_PHRASE_SEPARATOR)
_ASCII_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_FOLDING: dict[int, str] = {ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def fold(text: str) -> str:
    """Lowercase `text`, also mapping each character that case-insensitive `re` equates with an ASCII letter
    (e.g. the Kelvin sign, long s) to it; one character per character, so word boundaries stay put."""
    if text.isascii():
        return text.lower()
    for char in set(text).difference(map(chr, _FOLDING)):
        if not char.isascii():
            equal = WORD.fullmatch(char) and next(
                (c for c in _ASCII_ALNUM if re.fullmatch(c, char, re.IGNORECASE)), None)
            _FOLDING[ord(char)] = equal or char
    return text.translate(_FOLDING)


@dataclass(frozen=True)
class Term:
    """One keyword as written in the taxonomy, its compiled pattern and a necessary condition for a match.

    For a phrase, `tokens` are the lowercase words that are whole tokens (`\\w+` runs) of the folded text
    wherever it matches, and `folded` the same phrase for folded text, without the leading `\\b` that would
    stop `re` from scanning for the first literal. For a regex, `literals` (when known) holds lowercase
    strings one of which is in the folded text wherever it matches."""

    text: str
    regex: re.Pattern[str] = field(compare=False)
    tokens: frozenset[str] | None = None
    literals: tuple[str, ...] | None = None
    folded: re.Pattern[str] | None = field(default=None, compare=False)
    leading_boundary: bool = False

    def search(self, text: str) -> bool:
        return self.regex.search(text) is not None

    def search_folded(self, text: str, folded: str) -> bool:
        """The same as `search(text)`, faster, given `folded = fold(text)`."""
        if self.folded is None:
            return self.search(text)
        position = 0
        while match := self.folded.search(folded, position):
            start = match.start()
            if not (self.leading_boundary and start and WORD.match(folded, start - 1)):
                return True
            position = start + 1
        return False


def compile_term(text: str) -> Term:
    """Compile a phrase or a "re:" regex; raises ValueError (re.error) on an empty phrase, a bad regex or one that
    can take exponential time (see `_Backtracking`)."""
    if text.startswith(REGEX_PREFIX):
        source = text[len(REGEX_PREFIX):]
        if not source:
            raise ValueError("empty regex")
        regex = re.compile(source, re.IGNORECASE)
        parsed = sre_parse.parse(source, re.IGNORECASE)
        _Backtracking(parsed, source).refuse_exponential(parsed)
        return Term(text, regex, literals=_required_literals(parsed))
    words = [word for word in _SPLIT_PHRASE.split(text.strip()) if word]
    if not words:
        raise ValueError("empty phrase")
    leading_boundary = WORD.fullmatch(words[0][0]) is not None
    regex = re.compile(r"\b" * leading_boundary + _phrase_pattern(words), re.IGNORECASE)
    if not all(word.isascii() for word in words):  # folding only covers what matches ASCII
        return Term(text, regex)
    lowered = [word.lower() for word in words]
    tokens = frozenset(token for word in lowered for token in WORD.findall(word))
    return Term(text, regex, tokens=tokens or None, folded=re.compile(_phrase_pattern(lowered)),
                leading_boundary=leading_boundary)


def _phrase_pattern(words: list[str]) -> str:
    """The words joined by separators, with `\\b` after a final word character (the leading one is apart)."""
    pattern = _PHRASE_SEPARATOR.join(re.escape(word) for word in words)
    return pattern + r"\b" if WORD.fullmatch(words[-1][-1]) else pattern


def _required_literals(parsed: sre_parse.SubPattern | list) -> tuple[str, ...] | None:
    """Lowercase ASCII strings one of which every match of the parsed regex contains, or None if unknown: walks the
    top-level sequence (runs of literal characters, groups, alternations with one literal per branch, repeats of at
    least one) and keeps the requirement whose shortest alternative is longest."""
    candidates: list[tuple[str, ...]] = []
    run = ""
    for op, arg in [*parsed, (None, None)]:  # the sentinel closes the last run of literals
        if op is sre_constants.LITERAL and chr(arg).isascii() and arg:
            run += chr(arg).lower()
            continue
        if run:
            candidates.append((run,))
            run = ""
        if op is sre_constants.SUBPATTERN:
            inner = _required_literals(arg[-1])
        elif op is sre_constants.BRANCH:
            branches = [_required_literals(branch) for branch in arg[1]]
            inner = None if any(b is None for b in branches) else tuple(s for b in branches for s in b)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[0] >= 1:
            inner = _required_literals(arg[2])
        else:
            inner = None
        if inner:
            candidates.append(inner)
    if not candidates:
        return None
    return max(candidates, key=lambda alternatives: min(len(s) for s in alternatives))


_ITEMS = list[tuple]  # a parsed regex sequence: (opcode, argument) items
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)  # possessive repeats never backtrack
_ONE_CHARACTER = (sre_constants.LITERAL, sre_constants.NOT_LITERAL, sre_constants.IN, sre_constants.ANY)
_ZERO_WIDTH = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)
_ANY_REPEAT = (*_REPEATS, sre_constants.POSSESSIVE_REPEAT)
_NESTING = (sre_constants.SUBPATTERN, sre_constants.BRANCH, *_ANY_REPEAT, sre_constants.ATOMIC_GROUP)
_UNIVERSE = frozenset(map(chr, range(0x250)))  # the characters first-character sets are computed over
EXPONENTIAL = ("can take exponential time on text it does not match: a repeated part can match the same text in "
               "more than one way, as in (a+)+ or (a|aa)+ (make the repeated parts exclusive)")


class _Backtracking:
    """Finds the regexes whose backtracking is exponential in the text's length: a part repeated more than once
    (`(...)+`, `*`, `{2,}`) containing a variable repeat or alternatives that can match the same characters where
    the next ones could, so that a text splits between them in exponentially many ways. Characters are compared
    through first-character sets over Latin-script characters and those of the regex."""

    def __init__(self, parsed: sre_parse.SubPattern, source: str) -> None:
        self.state = parsed.state
        self.universe = _UNIVERSE | set(source) | set(source.swapcase())
        self._characters: dict[str, frozenset[str]] = {}

    def refuse_exponential(self, items: _ITEMS) -> None:
        """ValueError (EXPONENTIAL) when a part of `items` repeated more than once is ambiguous."""
        for op, arg in items:
            if op in _REPEATS and arg[1] > 1:
                self._refuse_ambiguous(arg[2], self.first(arg[2])[0])  # each iteration is followed by the next
            for child in _children(op, arg):
                self.refuse_exponential(child)

    def _refuse_ambiguous(self, items: _ITEMS, after: frozenset[str]) -> None:
        """ValueError when a variable repeat or an alternation in `items` (followed by characters of `after`) can
        end where what follows it could begin."""
        for k, (op, arg) in enumerate(items):
            rest, rest_empty = self.first(items[k + 1:])
            follow = rest | after if rest_empty else rest
            if op in _REPEATS:
                body = self.first(arg[2])[0]
                if arg[0] != arg[1] and body & follow:
                    raise ValueError(EXPONENTIAL)
                self._refuse_ambiguous(arg[2], body | follow if arg[1] > 1 else follow)
            elif op is sre_constants.BRANCH:
                branches = arg[1]
                if any(self._overlap(a, b, follow) for i, a in enumerate(branches) for b in branches[i + 1:]):
                    raise ValueError(EXPONENTIAL)
                for branch in branches:
                    self._refuse_ambiguous(branch, follow)
            else:
                for child in _children(op, arg):
                    self._refuse_ambiguous(child, follow)

    def _overlap(self, a: _ITEMS, b: _ITEMS, follow: frozenset[str]) -> bool:
        """Whether alternatives `a` and `b` (followed by `follow`) can both match the start of one text."""
        for i, (item_a, item_b) in enumerate(zip(a, b, strict=False)):  # up to the shorter one
            if not (item_a[0] in _ONE_CHARACTER and item_b[0] in _ONE_CHARACTER):
                (first_a, empty_a), (first_b, empty_b) = self.first(a[i:]), self.first(b[i:])
                return bool(first_a & first_b or (empty_a and first_b & follow) or (empty_b and first_a & follow)
                            or (empty_a and empty_b))
            if not self.characters(item_a) & self.characters(item_b):
                return False
        longer = a[len(b):] or b[len(a):]  # one is done where the other goes on: the other then meets `follow`
        return not longer or bool(self.first(longer)[0] & follow)

    def first(self, items: _ITEMS) -> tuple[frozenset[str], bool]:
        """The characters a match of `items` can start with, and whether it can be empty."""
        found: set[str] = set()
        for op, arg in items:
            if op in _ONE_CHARACTER:
                found |= self.characters((op, arg))
                return frozenset(found), False
            if op in _ZERO_WIDTH:
                continue
            if op in _NESTING:  # a group, alternatives, a repeated part: what its sub-sequences can start with
                parts = [self.first(child) for child in _children(op, arg)]
                first, empty = frozenset().union(*(part for part, _ in parts)), any(e for _, e in parts)
                empty = empty or (op in _ANY_REPEAT and arg[0] == 0)
            else:  # a back reference, a conditional: anything
                first, empty = frozenset(self.universe), True
            found |= first
            if not empty:
                return frozenset(found), False
        return frozenset(found), True

    def characters(self, item: tuple) -> frozenset[str]:
        """The characters a one-character item matches (case-insensitively, as the term does)."""
        key = repr(item)
        if key not in self._characters:
            pattern = sre_compile.compile(sre_parse.SubPattern(self.state, [item]), self.state.flags)
            self._characters[key] = frozenset(char for char in self.universe if pattern.fullmatch(char))
        return self._characters[key]


def _children(op: object, arg: object) -> list[_ITEMS]:
    """The sub-sequences of a parsed item (groups, alternatives, repeated parts, lookarounds, conditionals)."""
    if op is sre_constants.SUBPATTERN:
        return [arg[-1]]
    if op is sre_constants.BRANCH:
        return list(arg[1])
    if op in _ANY_REPEAT:
        return [arg[2]]
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [arg[1]]
    if op is sre_constants.ATOMIC_GROUP:
        return [arg]
    if op is sre_constants.GROUPREF_EXISTS:
        return [branch for branch in arg[1:] if branch is not None]
    return []
