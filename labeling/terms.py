"""Keyword terms: a phrase or a "re:" regex, compiled case-insensitively, with what any match requires."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

try:  # Python >= 3.11 keeps the regex parser private
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

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
    strings one of which is in the folded text wherever it matches.
    """

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
    """Compile a phrase or a "re:" regex; raises ValueError (re.error) on an empty phrase or a bad regex."""
    if text.startswith(REGEX_PREFIX):
        source = text[len(REGEX_PREFIX):]
        if not source:
            raise ValueError("empty regex")
        regex = re.compile(source, re.IGNORECASE)
        return Term(text, regex, literals=_required_literals(sre_parse.parse(source, re.IGNORECASE)))
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
    """Lowercase ASCII strings one of which every match of the parsed regex contains, or None if unknown.

    Walks the top-level sequence: runs of literal characters, groups, alternations (one literal per branch)
    and repeats of at least one; keeps the requirement whose shortest alternative is longest.
    """
    candidates: list[tuple[str, ...]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            candidates.append(("".join(run),))
            run.clear()

    for op, arg in parsed:
        if op is sre_constants.LITERAL and chr(arg).isascii() and arg:
            run.append(chr(arg).lower())
            continue
        close_run()
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
    close_run()
    if not candidates:
        return None
    return max(candidates, key=lambda alternatives: min(len(s) for s in alternatives))
