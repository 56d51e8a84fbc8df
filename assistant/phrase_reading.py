"""What a regex says about its own matches, read from its parse tree: the strings a match can
begin with, and the words it needs.

`read_pattern(pattern, keys)` is how `phrases.Phrase` learns, once, where a match may begin in
a text ("could you", "please send", ". just send") and which words it cannot do without
("could" or "can", then "you" or "u"); `finder_regex` makes the regex that finds such
beginnings in a text.  It reads the tree of the regex module's own parser; a pattern it cannot
read is reported as unknown, and is then searched the plain way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # the regex module's own parser, private: without it phrases are searched the plain way
    import re._constants as _sre
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre = _sre_parse = None

ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")  # the characters of a word, as `phrases.Probe` splits them


@dataclass(frozen=True, slots=True)
class Reading:
    """What a search for a pattern can count on."""

    known: bool  # how matches begin is known; else a match may begin anywhere
    clauses: tuple[frozenset[str], ...]  # every match has a word of each set as a whole word
    at_beginning: bool  # a match may begin at the start of the text ("^")
    starts: frozenset[str]  # how such a match begins, as `finders` write it
    keyed: bool  # every match contains one of the keys (or there are none)
    # How a match begins: sets of strings, each to be found with one regex (`finder_regex`) in the
    # text lower-cased with white space as " " (see `phrases.Probe`), with the words a text
    # where the regex finds something has all of, and words of which it has one (None: no such words).
    finders: tuple[tuple[frozenset[str], frozenset[str] | None, frozenset[str]], ...]


def read_pattern(pattern: re.Pattern, keys: tuple[str, ...] | None) -> Reading:
    """What `pattern`'s parse tree says about its matches; `keys` (lower case): strings one of
    which a text must contain for the pattern to be found in it."""
    try:
        reading = _Reading(pattern)
        clauses, strings = reading.clauses(), reading.beginnings()
    except Exception:  # noqa: BLE001 - re._parser is private: should it change, search the plain way
        clauses, strings = (), None
    starts = frozenset(s.replace(_BEGINNING, "").replace(_BOUNDARY, "") for s in strings or () if s.startswith(_BEGINNING))
    others = [s for s in strings or () if not s.startswith(_BEGINNING)]
    keyed = keys is None or not starts and all(any(" " not in k and k in s.replace(_MORE_SPACE, "") for k in keys) for s in others)
    return Reading(strings is not None, clauses, bool(starts), starts, keyed, _finders(others))


def _finders(strings: list[str]) -> tuple[tuple[frozenset[str], frozenset[str] | None, frozenset[str]], ...]:
    """The beginnings in groups, a regex each (see `Reading.finders`).

    A group is looked for only in texts with the words all its beginnings have ("could" of
    "could you") and one of the words of each that the others need not have.  Beginnings are
    grouped by their first word, or if they begin with no word by their longest one ("you
    are receiving"), or if they begin with no letter by their first character (". send";
    "'s hiring"): the regex engine finds a regex that begins with one string fast, and one
    that may begin with any of several characters slowly."""
    groups: dict[str | None, set[str]] = {}
    for s in strings:
        first = s.lstrip(_BOUNDARY)[0]
        groups.setdefault(_first_word(s) or _longest_word(s) if first in ASCII_WORD else first, set()).add(s)
    finders = []
    for found in sorted(groups.values(), key=sorted):
        words = [frozenset(_WHOLE_WORDS.findall(s)) for s in found]
        needs = frozenset.intersection(*words)
        # Of each beginning, a word the others need not have: the longest.
        own = {max(w - needs, key=len) if w - needs else None for w in words}
        finders.append((needs, None if None in own else frozenset(own), frozenset(s.replace(_BOUNDARY, "") for s in found)))
    return tuple(finders)


def finder_regex(strings: frozenset[str]) -> re.Pattern:
    """The regex that finds where one of a finder's strings begins, or the first `_LONG_ENOUGH`
    characters of one: a longer beginning makes a bigger regex, not one that finds fewer places."""
    return re.compile(_trie_regex({s[:_LONG_ENOUGH] for s in strings}))


# How `_Reading` writes what a pattern matches: letters in lower case, any white space as " ",
# and marks for what matches no character of its own.
_BOUNDARY = "\0"  # "\b"
_BEGINNING = "\1"  # "^": the start of the text
_MORE_SPACE = "\2"  # after a " ": any further white space ("\s+")
_MAX_STRINGS = 256  # past this many ways to go on, what was read so far is enough
_LONG_ENOUGH = 16  # characters: a longer beginning makes a bigger regex, not one that finds fewer places
_MAX_CLAUSES = 16
_WORD = "word"  # a node of `_plain`'s: ASCII letters, digits or "_" in a row, as `_Reading` writes them
_LETTERS = {ord(ch): ch for ch in ASCII_WORD} | {ord(ch.upper()): ch for ch in ASCII_WORD}  # the characters of `_WORD`s, by code


class _Reading:
    """What a pattern's parse tree (from the regex module's own parser) says about its matches:
    the strings they begin with, and the words they need."""

    def __init__(self, pattern: re.Pattern) -> None:
        self.tree = _plain(_sre_parse.parse(pattern.pattern, pattern.flags))
        self.multiline = bool(pattern.flags & re.MULTILINE)
        self._nodes: dict[tuple, tuple[set[str], set[str]]] = {}
        self._gaps: dict[tuple, bool] = {}

    def beginnings(self) -> set[str] | None:
        """Strings one of which every match begins with; None when a match may begin otherwise
        (with a class such as "[^\\W\\d_]")."""
        cut, whole = self._prefixes(self.tree, _long_enough)
        strings = {s.lstrip(_BOUNDARY) if s.lstrip(_BOUNDARY).startswith(_BEGINNING) else s for s in cut | whole}
        if any(not s.replace(_BOUNDARY, "") or _BEGINNING in s[1:] for s in strings):
            return None  # a match may be empty, or the pattern has a "^" it cannot match: not worth a thought
        return strings

    def clauses(self) -> tuple[frozenset[str], ...]:
        """Sets of words such that every match has a word of each set as a whole word: "could
        you ..." needs "could", "can", "would" or "will", and "you" or "u"."""
        found = set(self._clauses(self.tree, False))
        return tuple(sorted((c for c in found if not any(other < c for other in found)), key=len))  # a smaller set says more

    def _prefixes(self, items, enough=None) -> tuple[set[str], set[str]]:
        """(cut, whole) for a sequence of regex nodes: every text they match is, as written here,
        a string of `whole` or begins with a string of `cut`.  A string for which `enough(string)`
        holds is not followed further."""
        cut: set[str] = set()
        whole = {""}
        for op, av in items:
            if op is _WORD:
                # One string to add to each: `whole` grows no bigger.  Letters take no string
                # past its first word; a string long enough is cut where it would have been had
                # the letters been followed one at a time.
                whole = {a + av for a in whole}
                if enough is _long_enough:
                    cut |= {w[:_LONG_ENOUGH] for w in whole if len(w) >= _LONG_ENOUGH}
                    whole = {w for w in whole if len(w) < _LONG_ENOUGH}
                    if not whole:
                        break
                continue
            part_cut, part_whole = self._node(op, av)
            if len(whole) * (len(part_cut) + len(part_whole)) > _MAX_STRINGS:
                return cut | whole, set()
            if part_cut:
                cut |= {a + b for a in whole for b in part_cut}
            whole = {a + b for a in whole for b in part_whole}
            if enough:
                done = set(filter(enough, whole))
                if done:
                    cut |= done
                    whole -= done
            if not whole:
                break
        return cut, whole

    def _node(self, op, av) -> tuple[set[str], set[str]]:
        """(cut, whole) for one regex node, as `_prefixes`; worked out once a node."""
        key = (op, av if isinstance(av, int) else id(av))
        if key not in self._nodes:
            self._nodes[key] = self._read_node(op, av)
        return self._nodes[key]

    def _read_node(self, op, av) -> tuple[set[str], set[str]]:
        if op is _sre.LITERAL or op is _sre.IN:
            chars = _node_chars(op, av)
            return (set(), chars) if chars else ({""}, set())
        if op is _sre.AT:
            if av is _sre.AT_BOUNDARY:
                return set(), {_BOUNDARY}
            if av is _sre.AT_BEGINNING_STRING or av is _sre.AT_BEGINNING and not self.multiline:
                return set(), {_BEGINNING}
            return set(), {""}
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            return set(), {""}  # lookarounds match no character
        if op is _sre.SUBPATTERN and not av[1] & re.MULTILINE:  # (a "(?m:...)" group is not read)
            return self._prefixes(av[3])
        if op is _sre.ATOMIC_GROUP:
            return self._prefixes(av)
        if op is _sre.BRANCH:
            parts = [self._prefixes(items) for items in av[1]]
            return set().union(*(c for c, _ in parts)), set().union(*(w for _, w in parts))
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, high, items = av
            if high > 1 and len(items) == 1 and _node_chars(*items[0]) == {" "}:
                return set(), {" " + _MORE_SPACE} | ({""} if low == 0 else set())  # "\s+", "\s*"
            cut, whole = self._prefixes(items)
            if high == 1:
                return cut, whole | ({""} if low == 0 else set())
            return cut | whole, {""} if low == 0 else set()  # the first repetition begins the text
        return {""}, set()

    def _clauses(self, items, gap: bool) -> list[frozenset[str]]:
        """Word sets for a sequence of regex nodes, as `clauses`; `gap`: what comes before the
        sequence is no word character."""
        found: list[frozenset[str]] = []
        for k, (op, av) in enumerate(items):
            if gap:
                cut, whole = self._prefixes(items[k:], _past_first_word)
                words = list(map(_FIRST_WORD_AFTER_GAP, cut | whole))
                if all(words):
                    found.append(frozenset(word[1] for word in words))
            if op is _sre.SUBPATTERN:
                found += self._clauses(av[3], gap)
            elif op is _sre.BRANCH:
                # Every alternative has a word of one of its sets: all the unions of one set an alternative.
                combined = [frozenset()]
                for alternative in av[1]:
                    options = self._clauses(alternative, gap)
                    combined = [c | o for c in combined for o in options]
                    if not combined or len(combined) > _MAX_CLAUSES:
                        combined = []
                        break
                found += combined
            gap = op is not _WORD and self._gap_after(op, av, gap)  # (no gap after a letter)
        return found

    def _gap_after(self, op, av, gap: bool) -> bool:
        r"""Whether the character before the position after a node is no word character, given `gap`
        for the one before it ("\b" counts: a word that follows it starts there); worked out once
        a node (`_clauses` asks again for each node inside one)."""
        key = (op, av if isinstance(av, int) else id(av), gap)
        if key not in self._gaps:
            self._gaps[key] = self._read_gap(op, av, gap)
        return self._gaps[key]

    def _read_gap(self, op, av, gap: bool) -> bool:
        if op is _sre.AT:
            return av in (_sre.AT_BOUNDARY, _sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING) or gap
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            return gap
        if op is _sre.LITERAL or op is _sre.IN:
            chars = _node_chars(op, av)
            return bool(chars) and not any(ch.isalnum() or ch == "_" for ch in chars)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, _, items = av
            return self._sequence_gap(items, gap or low == 0) and (gap or low > 0)
        if op is _sre.SUBPATTERN:
            return self._sequence_gap(av[3], gap)
        if op is _sre.ATOMIC_GROUP:
            return self._sequence_gap(av, gap)
        if op is _sre.BRANCH:
            return all(self._sequence_gap(items, gap) for items in av[1])
        return False

    def _sequence_gap(self, items, gap: bool) -> bool:
        for op, av in items:
            gap = op is not _WORD and self._gap_after(op, av, gap)
        return gap


def _plain(items) -> list:
    """A parse tree with its sequences as lists, the nodes' own (the parser's sequences give
    their nodes one at a time through a method, slowly), and with the letters of a word as one
    node (`_WORD`): most of a phrase is words, and `_Reading` then follows a word in one step."""
    plain = []
    for op, av in items.data:
        letter = _LETTERS.get(av) if op is _sre.LITERAL else None
        if letter is not None:
            if plain and plain[-1][0] is _WORD:
                plain[-1] = (_WORD, plain[-1][1] + letter)
            else:
                plain.append((_WORD, letter))
            continue
        if op is _sre.SUBPATTERN:
            av = (*av[:3], _plain(av[3]))
        elif op is _sre.BRANCH:
            av = (av[0], [_plain(alternative) for alternative in av[1]])
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            av = (*av[:2], _plain(av[2]))
        elif op is _sre.ATOMIC_GROUP:
            av = _plain(av)
        plain.append((op, av))
    return plain


def _node_chars(op, av) -> set[str] | None:
    r"""The characters a literal or a class such as "[.!?]", "['’]" or "\s" (as " ") matches,
    written as `_Reading` does; None for another node, or a class with ranges, "\w" or letters
    that may not show."""
    if op is not _sre.LITERAL and op is not _sre.IN:
        return None
    chars = set()
    for kind, value in [(op, av)] if op is _sre.LITERAL else av:
        if kind is _sre.LITERAL and _shows(chr(value)):
            chars.add(" " if chr(value).isspace() else chr(value).lower())
        elif kind is _sre.CATEGORY and value in (_sre.CATEGORY_SPACE, _sre.CATEGORY_UNI_SPACE):
            chars.add(" ")
        else:
            return None
    return chars


def _shows(ch: str) -> bool:
    """A character a lower-cased text shows wherever the pattern matches it: white space (as
    " "), printable ASCII, or a character without case.  (Ignoring case, the regex engine also
    matches letters with case foldings that str.lower() does not make, as "σ" with "ς".)"""
    return ch.isspace() or " " < ch < "\x7f" or (not ch.isascii() and ch.lower() == ch.upper() == ch)


def _long_enough(string: str) -> bool:
    return len(string) >= _LONG_ENOUGH


def _past_first_word(string: str) -> bool:
    """Whether a string (after a gap) has gone past its first word: what follows cannot change it."""
    string = string.lstrip(_BOUNDARY)
    return bool(string) and (string[0] not in ASCII_WORD or not ASCII_WORD.issuperset(string))


def _first_word(string: str) -> str | None:
    r"""The word a string begins with, when a "\b" before it and a non-word character (or "\b")
    after it make it a whole word."""
    found = _FIRST_WORD(string)
    return found[1] if found else None


_FIRST_WORD = re.compile(f"{_BOUNDARY}([a-z0-9_]+)[^a-z0-9_]").match
_FIRST_WORD_AFTER_GAP = re.compile(f"{_BOUNDARY}*([a-z0-9_]+)[^a-z0-9_]").match  # as if a string after a gap began with "\b"


_WHOLE_WORDS = re.compile(r"(?<=[^a-z0-9_])[a-z0-9_]+(?=[^a-z0-9_])")


def _longest_word(string: str) -> str | None:
    """The longest of the words of a string that are whole words wherever the string is in a
    text (with a character that is no part of a word, or a "\\b", on each side), if any."""
    words = _WHOLE_WORDS.findall(string)
    return max(words, key=len) if words else None


def _trie_regex(strings: set[str]) -> str:
    """A regex (for lower-cased, spaced texts) that matches where one of `strings` begins a text,
    with what they share written once: the regex engine follows one path, not each string."""
    if "" in strings:
        return ""  # one string ends here: enough
    by_first: dict[str, set[str]] = {}
    for s in strings:
        by_first.setdefault(s[0], set()).add(s[1:])
    alternatives = [(" *" if first == _MORE_SPACE else re.escape(first)) + _trie_regex(rest) for first, rest in sorted(by_first.items())]
    return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
