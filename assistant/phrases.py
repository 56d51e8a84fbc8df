"""Phrases: regexes found exactly as `re.Pattern.search` finds them, several times faster.

Python's regex engine tries a pattern at every position of a text when the pattern ignores
case or starts with "\b": a 2,000-character body costs ten to fifty microseconds a pattern,
found or not, and detection reads some seventy patterns (`cues`) a message.  But a pattern
there can only begin in a few ways ("could you", "please send", ". just send") and needs a
few words ("could" or "can", then "you" or "u"); `_Reading` works both out from the pattern
itself, with the regex module's own parser.  A text is lower-cased and split into words once
(`Probe`): a pattern whose words are not all there is skipped, and otherwise tried only where
one of its beginnings occurs.  Texts where lower-casing moves positions, and patterns the
reading cannot handle, are searched the plain way.  Every answer is what `pattern.search`
gives (a hypothesis test in tests/test_detect.py holds it to that).
"""

from __future__ import annotations

import re
from functools import lru_cache

try:  # the regex module's own parser, private: without it phrases are searched the plain way
    import re._constants as _sre
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre = _sre_parse = None


class Phrase:
    """A pattern (compiled with IGNORECASE) that `search` finds as `pattern.search` does, faster.

    `keys` (lower case), when given, are strings one of which a text must contain for the
    phrase to be found in it at all."""

    __slots__ = ("at_beginning", "clauses", "finders", "key_words", "keyed", "keys", "known", "label", "other_keys", "pattern", "word_keys")

    def __init__(self, pattern: str, label: str = "", keys: tuple[str, ...] | None = None) -> None:
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.label = label
        self.keys = keys
        self.finders: tuple[tuple[str | None, re.Pattern], ...] | None = None  # see `_read`

    def _read(self) -> None:
        """Work out how matches begin and what they need, on first use: a scan without new
        mail, which imports this module, then does not pay for it."""
        keys = self.keys or ()
        # Keys of ASCII letters and digits are looked for in the list of a text's words: it is shorter.
        self.word_keys = tuple(k for k in keys if _ASCII_WORD.issuperset(k))
        self.other_keys = tuple(k for k in keys if not _ASCII_WORD.issuperset(k))
        try:
            reading = _Reading(self.pattern)
            self.clauses, strings = reading.clauses(), reading.beginnings()
        except Exception:  # noqa: BLE001 - re._parser is private: should it change, search the plain way
            self.clauses, strings = (), None
        # Words that contain a key: a text with one of them has the key.
        self.key_words = frozenset(w for clause in self.clauses for w in clause if any(" " not in k and k in w for k in keys))
        self.known = strings is not None  # else a match may begin anywhere: search the plain way
        self.at_beginning = any(s.startswith(_BEGINNING) for s in strings or ())  # a match may begin at 0
        # How a match begins, by the word it begins with (None: no word, as ". " or "'re"): a
        # regex each, over the text lower-cased with white space as " " (see `Probe`).
        by_word: dict[str | None, set[str]] = {}
        for s in strings or ():
            if not s.startswith(_BEGINNING):
                by_word.setdefault(_first_word(s), set()).add(s.replace(_BOUNDARY, ""))
        self.keyed = self.keys is None or not self.at_beginning and all(  # every match has a key
            any(" " not in k and k in s.replace(_MORE_SPACE, "") for k in keys) for found in by_word.values() for s in found
        )
        self.finders = tuple((word, re.compile(_trie_regex(by_word[word]))) for word in sorted(by_word, key=lambda w: w or ""))

    def search(self, text: str, end: int | None = None) -> re.Match | None:
        """`pattern.search(text, 0, end)`: the first match, in `text[:end]` if `end` is given."""
        return self.find(probe_of(text), end)

    def sub(self, replacement: str, text: str) -> str:
        """`pattern.sub(replacement, text)`, for a replacement without backslashes."""
        if self.finders is None:
            self._read()
        probe = probe_of(text)
        if probe.spaced is None or not self.known:
            return self.pattern.sub(replacement, text) if self._has_key(probe, len(text)) else text
        if not self._may_match(probe, len(text), probe.words):
            return text
        places = {0} if self.at_beginning else set()
        for word, finder in self.finders:
            if word is None or word in probe.words:
                found = finder.search(probe.spaced)
                while found:
                    places.add(found.start())
                    found = finder.search(probe.spaced, found.start() + 1)
        pieces, end = [], 0
        for at in sorted(places):
            found = self.pattern.match(text, at) if at >= end else None
            if found:
                if found.end() == at:  # an empty match: the regex engine's rules for those apply
                    return self.pattern.sub(replacement, text)
                pieces += [text[end:at], replacement]
                end = found.end()
        return "".join(pieces) + text[end:] if pieces else text

    def has_key(self, text: str) -> bool:
        """Whether the text contains one of the keys (or the phrase has none)."""
        if self.finders is None:
            self._read()
        return self._has_key(probe_of(text), len(text))

    # Plain loops rather than any() below: these run some seventy times a message.

    def find(self, probe: Probe, end: int | None = None) -> re.Match | None:
        if self.finders is None:
            self._read()
        text, spaced = probe.text, probe.spaced
        words: frozenset[str] | None = probe.words
        if end is None or end >= len(text):
            end = len(text)
        else:
            end, words = max(end, 0), None  # a word cut at the end is not one of the text's words
        if spaced is None or not self.known:
            return self.pattern.search(text, 0, end) if self._has_key(probe, end) else None
        if not self._may_match(probe, end, words):
            return None
        match = self.pattern.match
        first = match(text, 0, end) if self.at_beginning else None
        if first:
            return first
        for word, finder in self.finders:
            if word is not None and words is not None and word not in words:
                continue
            place = finder.search(spaced, 0, end)
            while place and (first is None or place.start() < first.start()):
                found = match(text, place.start(), end)
                if found:
                    first = found
                    break
                place = finder.search(spaced, place.start() + 1, end)
        return first

    def _may_match(self, probe: Probe, end: int, words: frozenset[str] | None) -> bool:
        """The cheap tests: the words every match needs (`words`: the text's, None when unknown), then the keys."""
        if words is not None:
            for clause in self.clauses:
                if clause.isdisjoint(words):
                    return False
        return self.keyed or words is not None and not self.key_words.isdisjoint(words) or self._has_key(probe, end)

    def _has_key(self, probe: Probe, end: int) -> bool:
        if self.keys is None:
            return True
        lowered = probe.lowered
        if end < len(lowered) or probe.spaced is None:
            for key in self.keys:
                if lowered.find(key, 0, end) != -1:
                    return True
            return False
        for key in self.word_keys:
            if key in probe.word_list:
                return True
        for key in self.other_keys:
            if key in lowered:
                return True
        return False



class Probe:
    """What `Phrase` needs of a text, worked out once for all the phrases looked for in it."""

    __slots__ = ("lowered", "spaced", "text", "word_list", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()  # for keys
        self.spaced: str | None = None  # lower case, white space as " ": where beginnings are found
        self.words: frozenset[str] = frozenset()  # its ASCII words (a non-ASCII character ends a word)
        self.word_list = ""  # the words, each once: shorter than the text to look for part of a word in
        # Positions in the lower-cased text are those of the text unless str.lower() lengthened
        # a character ("İ"), and the regex engine matches "ı" and "ſ" with "i" and "s", which
        # str.lower() leaves alone: in those texts phrases are searched the plain way.
        if len(self.lowered) != len(text) or "ı" in text or "ſ" in text:
            return
        spaced = self.lowered.replace("\n", " ")
        if not spaced.isprintable():  # white space other than " " is not: a replace for each kind present
            for space in _ODD_SPACES:
                if space in spaced:
                    spaced = spaced.replace(space, " ")
        self.spaced = spaced
        self.words = frozenset(self.lowered.encode("utf-8", "surrogatepass").translate(_WORD_BYTES).decode("ascii").split())
        self.word_list = " ".join(self.words)


_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_WORD_BYTES = bytes(c if chr(c).isalnum() and c < 128 or c == ord("_") else ord(" ") for c in range(256))
_ODD_SPACES = [ch for ch in map(chr, range(0x3001)) if ch.isspace() and ch not in " \n"]  # all of "\s" up to U+3000
probe_of = lru_cache(maxsize=16)(Probe)  # the same few texts go through all the phrases


# How `_Reading` writes what a pattern matches: letters in lower case, any white space as " ",
# and marks for what matches no character of its own.
_BOUNDARY = "\0"  # "\b"
_BEGINNING = "\1"  # "^": the start of the text
_MORE_SPACE = "\2"  # after a " ": any further white space ("\s+")
_MAX_STRINGS = 256  # past this many ways to go on, what was read so far is enough
_LONG_ENOUGH = 16  # characters: a longer beginning makes a bigger regex, not one that finds fewer places
_MAX_CLAUSES = 16


class _Reading:
    """What a pattern's parse tree (from the regex module's own parser) says about its matches:
    the strings they begin with, and the words they need."""

    def __init__(self, pattern: re.Pattern) -> None:
        self.tree = list(_sre_parse.parse(pattern.pattern, pattern.flags))
        self.multiline = bool(pattern.flags & re.MULTILINE)
        self._nodes: dict[tuple, tuple[set[str], set[str]]] = {}

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
            part_cut, part_whole = self._node(op, av)
            if len(whole) * (len(part_cut) + len(part_whole)) > _MAX_STRINGS:
                return cut | whole, set()
            cut |= {a + b for a in whole for b in part_cut}
            whole = {a + b for a in whole for b in part_whole}
            if enough:
                done = {w for w in whole if enough(w)}
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
                words = {_first_word(_BOUNDARY + s.lstrip(_BOUNDARY)) for s in cut | whole}
                if None not in words:
                    found.append(frozenset(words))
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
            gap = _gap_after(op, av, gap)
        return found


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


def _gap_after(op, av, gap: bool) -> bool:
    r"""Whether the character before the position after a node is no word character, given `gap`
    for the one before it ("\b" counts: a word that follows it starts there)."""
    if op is _sre.AT:
        return av in (_sre.AT_BOUNDARY, _sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING) or gap
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return gap
    if op is _sre.LITERAL or op is _sre.IN:
        chars = _node_chars(op, av)
        return bool(chars) and not any(ch.isalnum() or ch == "_" for ch in chars)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, _, items = av
        return _sequence_gap(items, gap or low == 0) and (gap or low > 0)
    if op is _sre.SUBPATTERN:
        return _sequence_gap(av[3], gap)
    if op is _sre.ATOMIC_GROUP:
        return _sequence_gap(av, gap)
    if op is _sre.BRANCH:
        return all(_sequence_gap(items, gap) for items in av[1])
    return False


def _sequence_gap(items, gap: bool) -> bool:
    for op, av in items:
        gap = _gap_after(op, av, gap)
    return gap


def _long_enough(string: str) -> bool:
    return len(string) >= _LONG_ENOUGH


def _past_first_word(string: str) -> bool:
    """Whether a string (after a gap) has gone past its first word: what follows cannot change it."""
    string = string.lstrip(_BOUNDARY)
    return bool(string) and (string[0] not in _ASCII_WORD or not _ASCII_WORD.issuperset(string))


def _first_word(string: str) -> str | None:
    r"""The word a string begins with, when a "\b" before it and a non-word character (or "\b")
    after it make it a whole word."""
    if not string.startswith(_BOUNDARY):
        return None
    end = 1
    while end < len(string) and string[end] in _ASCII_WORD:
        end += 1
    return string[1:end] if 1 < end < len(string) else None


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
