"""Phrases: regexes found exactly as `re.Pattern.search` finds them, several times faster.

Python's regex engine tries a pattern at every position of a text when the pattern ignores
case or starts with "\b": a 2,000-character body costs ten to fifty microseconds a pattern,
found or not, and detection reads some seventy patterns (`cues`) a message.  But a pattern
there can only begin in a few ways ("could you", "please send", ". just send") and needs a
few words ("could" or "can", then "you" or "u"); `phrase_reading` works both out from the
pattern itself.  A text is lower-cased and split into words once (`Probe`): a pattern whose
words are not all there is skipped, and otherwise tried only where one of its beginnings
occurs, each looked for only if the text has its words.  A `Family` tests all its phrases'
words at once.  The beginning of a text, and texts joined, are probed from the probes of the
text and the parts (`prefix`, `joined`): their words need not be split again.  Texts where
lower-casing moves positions, and patterns the reading cannot handle, are searched the plain
way.  Every answer is what `pattern.search` gives (hypothesis tests in tests/test_detect.py
hold phrases and families to that).
"""

from __future__ import annotations

import re
import weakref

from .phrase_reading import ASCII_WORD, finder_regex, read_pattern


class Phrase:
    """A pattern (compiled with IGNORECASE) that `find` finds as `pattern.search` does, faster.

    `keys` (lower case), when given, are strings one of which a text must contain for the
    phrase to be found in it at all."""

    __slots__ = ("__weakref__", "at_beginning", "clauses", "finders", "keyed", "keys", "known", "label", "pattern", "starts")

    def __init__(self, pattern: str, label: str = "", keys: tuple[str, ...] | None = None) -> None:
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.label = label
        self.keys = keys
        # Where matches begin: regexes, each with the words a text needs for it to find anything (see `read`).
        self.finders: list[tuple[frozenset[str], frozenset[str] | None, re.Pattern | frozenset[str]]] | None = None
        _MADE.add(self)

    def read(self) -> None:
        """Work out how matches begin and what they need: on first use (a scan without new mail,
        which imports this module, then does not pay for it), or up front (`read_all`)."""
        reading = read_pattern(self.pattern, self.keys)
        self.known, self.clauses = reading.known, reading.clauses
        self.at_beginning, self.keyed = reading.at_beginning, reading.keyed
        self.starts: re.Pattern | frozenset[str] = reading.starts  # how a match at the start begins: a regex on first use
        # A finder's regex is made on first use (`_finder`): making them all costs as much as
        # reading, and most are never needed, as their words are never all in one text.
        self.finders = list(reading.finders)

    def _finder(self, index: int) -> re.Pattern:
        needs, one_of, strings = self.finders[index]
        regex = finder_regex(strings)
        self.finders[index] = (needs, one_of, regex)
        return regex

    def search(self, text: str, end: int | None = None) -> re.Match | None:
        """`pattern.search(text, 0, end)`: the first match, in `text[:end]` if `end` is given."""
        return self.find(probe_of(text), end)

    def sub(self, replacement: str, text: str) -> str:
        """`pattern.sub(replacement, text)`, for a replacement without backslashes."""
        probe = probe_of(text)
        places = self.places(probe)
        if places is None:
            return self.pattern.sub(replacement, text) if self._has_key(probe, len(text)) else text
        if self.at_beginning and self._fits(probe.words, probe.cut):
            places.append(0)
        pieces: list[str] | None = []
        end = 0
        for at in sorted(set(places)):
            found = self.pattern.match(text, at) if at >= end else None
            if found:
                if found.end() == at:  # an empty match: the regex engine's rules for those apply
                    pieces = None
                    break
                pieces += [text[end:at], replacement]
                end = found.end()
        if pieces == [] or not (self.keyed or self._has_key(probe, len(text))):
            return text
        return self.pattern.sub(replacement, text) if pieces is None else "".join(pieces) + text[end:]

    def places(self, probe: Probe) -> list[int] | None:
        """Where in the text of a probe a match may begin, but at its start (see `begins`): every
        place a finder finds something; None when the text or the pattern is searched the plain way."""
        if self.finders is None:
            self.read()
        if probe.spaced is None or not self.known:
            return None
        places: list[int] = []
        if not self._fits(probe.words, probe.cut):
            return places
        for index, (needs, one_of, finder) in enumerate(self.finders):
            if _may_find(needs, one_of, probe.words, probe.cut):
                if finder.__class__ is frozenset:
                    finder = self._finder(index)
                found = finder.search(probe.spaced)
                while found:
                    places.append(found.start())
                    found = finder.search(probe.spaced, found.start() + 1)
        return places

    def begins(self, probe: Probe, at: int, end: int) -> bool:
        """Whether a match may begin at `at` in the text of a probe read as a text of its own that
        ends at `end` (where "^" matches at `at`): a part of the text, as a sentence."""
        if self.finders is None:
            self.read()
        if not self.at_beginning:
            return False
        if self.starts.__class__ is frozenset:
            self.starts = finder_regex(self.starts)
        return self.starts.match(probe.spaced, at, end) is not None

    def find(self, probe: Probe, end: int | None = None) -> re.Match | None:
        """`search` in the text of a probe."""
        if self.finders is None:
            self.read()
        text, cut = probe.text, probe.cut
        if end is None or end >= len(text):
            end = len(text)
        else:
            end = max(end, 0)
            cut = _cut_at(probe.lowered, end) if probe.spaced is not None else ""
        if probe.spaced is None:
            return self.pattern.search(text, 0, end) if self._has_key(probe, end) else None
        # Plain loops, and `_fits` and `_may_find` written out, here: this runs some twenty times a message.
        words = probe.words
        for clause in self.clauses:
            if clause.isdisjoint(words) and cut not in clause:
                return None
        if not self.known:
            return self.pattern.search(text, 0, end) if self._has_key(probe, end) else None
        match = self.pattern.match
        first = match(text, 0, end) if self.at_beginning else None
        if first is None:
            spaced = probe.spaced
            for index, (needs, one_of, finder) in enumerate(self.finders):
                if not (needs <= words or cut in needs and _within(needs, words, cut)):
                    continue
                if one_of is not None and one_of.isdisjoint(words) and cut not in one_of:
                    continue
                if finder.__class__ is frozenset:
                    finder = self._finder(index)
                place = finder.search(spaced, 0, end)
                while place and (first is None or place.start() < first.start()):
                    found = match(text, place.start(), end)
                    if found:
                        first = found
                        break
                    place = finder.search(spaced, place.start() + 1, end)
        # The keys last: a match is rarer than a key, and a key of two words is a pass over the text.
        if first is not None and not self.keyed and not self._has_key(probe, end):
            return None
        return first

    def _fits(self, words: frozenset[str], cut: str) -> bool:
        """Whether a text with these words (and `cut`, see `Probe`) has one of each clause."""
        for clause in self.clauses:
            if clause.isdisjoint(words) and cut not in clause:
                return False
        return True

    def _has_key(self, probe: Probe, end: int) -> bool:
        if self.keys is None:
            return True
        lowered = probe.lowered
        if end < len(lowered) or not probe.exact:
            for key in self.keys:
                if lowered.find(key, 0, end) != -1:
                    return True
            return False
        # A key of ASCII letters and digits is part of a word: it is looked for in the shorter list of the words.
        word_list = probe.word_list()
        for key in self.keys:
            if key in (word_list if ASCII_WORD.issuperset(key) else lowered):
                return True
        return False


class Family(tuple):
    """Phrases, in order of preference, looked for together in a text."""

    gate: frozenset[str] | None = None  # the words of the phrases' smallest clauses (see `read`)
    firsts: tuple[tuple[Phrase, frozenset[str] | None], ...] = ()  # each phrase with its smallest clause
    ungated: tuple[Phrase, ...] = ()  # the phrases that need no word

    def read(self) -> None:
        """Read the phrases (see `Phrase.read`), and gather the words they need."""
        for phrase in self:
            if phrase.finders is None:
                phrase.read()
        self.firsts = tuple((p, p.clauses[0] if p.clauses else None) for p in self)
        self.ungated = tuple(p for p in self if not p.clauses)
        self.gate = frozenset().union(*(p.clauses[0] for p in self if p.clauses))

    def within(self, probe: Probe) -> Family:
        """The phrases the text has the words for: the only ones a part of it (a sentence) can have."""
        return Family(p for p in self if probe.spaced is None or p._fits(probe.words, probe.cut))

    def places(self, probe: Probe) -> list[int] | None:
        """Where a match of one of the phrases may begin in the text, but at its start (see
        `Phrase.places`), in order; None when that may be anywhere."""
        found: set[int] = set()
        for phrase in self:
            places = phrase.places(probe)
            if places is None:
                return None
            found.update(places)
        return sorted(found)

    def begins(self, probe: Probe, at: int, end: int) -> bool:
        """Whether a match of one of the phrases may begin at the start of a part of the text (see `Phrase.begins`)."""
        return any(phrase.begins(probe, at, end) for phrase in self)

    def first(self, probe: Probe) -> tuple[re.Match, Phrase] | None:
        """The first phrase found in the text, and where."""
        for phrase in self._candidates(probe):
            found = phrase.find(probe)
            if found:
                return found, phrase
        return None

    def labels(self, probe: Probe) -> list[str]:
        """The labels of the phrases found in the text, each once."""
        labels: list[str] = []
        for phrase in self._candidates(probe):
            if phrase.label not in labels and phrase.find(probe):
                labels.append(phrase.label)
        return labels

    def _candidates(self, probe: Probe) -> tuple[Phrase, ...] | list[Phrase]:
        """The phrases, in order, whose smallest clause the text has a word of: most phrases fail
        this test, which costs a fraction of a call of `Phrase.find`."""
        if self.gate is None:
            self.read()
        if probe.spaced is None:
            return self
        words, cut = probe.words, probe.cut
        if self.gate.isdisjoint(words) and cut not in self.gate:
            return self.ungated  # one test for all: a short text (a subject, a sentence) often has no such word
        return [p for p, first in self.firsts if first is None or not first.isdisjoint(words) or cut in first]


class Probe:
    """What `Phrase` needs of a text, worked out once for all the phrases looked for in it.

    `words` are the text's ASCII words (a non-ASCII character ends a word).  A probe worked out
    from another (`prefix`) may have more words than its text: more only let more phrases
    through to the regex engine.  `cut` is then the word its text ends inside of ("hel" of
    "hello"), which the words of the longer text need not include."""

    __slots__ = ("_word_list", "cut", "exact", "lowered", "spaced", "text", "words")

    def __init__(self, text: str) -> None:
        self.text = text
        self.spaced: str | None = None  # lower case, white space as " ": where beginnings are found
        self.words: frozenset[str] = frozenset()
        self.cut = ""
        self.exact = False  # the words are the text's, no more
        self._word_list: str | None = None
        try:
            latin = text.encode("latin-1")
        except UnicodeEncodeError:
            latin = None
        if latin is None:
            self.lowered = text.lower()  # for keys
            # Positions in the lower-cased text are those of the text unless str.lower() lengthened
            # a character ("İ"), and the regex engine matches "ı" and "ſ" with "i" and "s", which
            # str.lower() leaves alone: in those texts phrases are searched the plain way.
            if len(self.lowered) != len(text) or "ı" in text or "ſ" in text:
                return
            word_bytes = self.lowered.encode("utf-8", "surrogatepass").translate(_WORD_BYTES)
        else:
            # Latin-1 (most mail): str.lower() turns each character into one Latin-1 character, as a
            # table of bytes does several times faster, and no other character into an ASCII letter:
            # the words are read from the bytes as they are.
            self.lowered = text.lower() if text.isascii() else latin.translate(_LATIN1_LOWER).decode("latin-1")
            word_bytes = latin.translate(_LATIN1_WORD_BYTES)
        spaced = self.lowered.replace("\n", " ")
        if not spaced.isprintable():  # white space other than " " is not: a replace for each kind present
            for space in _ODD_SPACES:
                if space in spaced:
                    spaced = spaced.replace(space, " ")
        self.spaced, self.exact = spaced, True
        self.words = frozenset(word_bytes.decode("ascii").split())

    def prefix(self, end: int) -> Probe:
        """The probe of `text[:end]`, with the words of the whole text."""
        if self.spaced is None:
            return Probe(self.text[:end])
        return _made(self.text[:end], self.lowered[:end], self.spaced[:end], self.words, _cut_at(self.lowered, end), False)

    @staticmethod
    def joined(probes: list[Probe]) -> Probe:
        """The probe of the probes' texts joined with line breaks, with their words."""
        text = "\n".join(p.text for p in probes)
        if any(p.spaced is None for p in probes):
            return Probe(text)
        # A word a text ends inside of is, followed by a line break, one of the joined text's.
        words = probes[0].words
        more = [p.words for p in probes[1:] if not p.words <= words] + [{p.cut} for p in probes[:-1] if p.cut]
        if more:  # (a signature's words are often all in the text above it)
            words = words.union(*more)
        exact = all(p.exact for p in probes)
        return _made(text, "\n".join(p.lowered for p in probes), " ".join(p.spaced for p in probes), words, probes[-1].cut, exact)

    def word_list(self) -> str:
        """The words, each once: shorter than the text to look for part of a word in."""
        if self._word_list is None:
            self._word_list = " ".join(self.words)
        return self._word_list


def _made(text: str, lowered: str, spaced: str, words: frozenset[str], cut: str, exact: bool) -> Probe:
    probe = Probe.__new__(Probe)
    probe.text, probe.lowered, probe.spaced, probe.words, probe.cut = text, lowered, spaced, words, cut
    probe.exact, probe._word_list = exact, None
    return probe


def _may_find(needs: frozenset[str], one_of: frozenset[str] | None, words: frozenset[str], cut: str) -> bool:
    """Whether a text with these words (and `cut`) has all the words a finder needs, and one of `one_of`."""
    if not (needs <= words or cut in needs and _within(needs, words, cut)):
        return False
    return one_of is None or not one_of.isdisjoint(words) or cut in one_of


def _within(needs: frozenset[str], words: frozenset[str], cut: str) -> bool:
    return all(word in words or word == cut for word in needs)


def _cut_at(lowered: str, end: int) -> str:
    """The ASCII word (or the beginning of one) that ends at `end`."""
    head = lowered[:end]
    return head[len(head.rstrip(_WORD_CHARS)) :]


_WORD_CHARS = "".join(sorted(ASCII_WORD))
_WORD_BYTES = bytes(c if chr(c).isalnum() and c < 128 or c == ord("_") else ord(" ") for c in range(256))
_LATIN1_LOWER = bytes(ord(chr(c).lower()) for c in range(256))
_LATIN1_WORD_BYTES = _LATIN1_LOWER.translate(_WORD_BYTES)  # lower case, then as `_WORD_BYTES`
_ODD_SPACES = [ch for ch in map(chr, range(0x3001)) if ch.isspace() and ch not in " \n"]  # all of "\s" up to U+3000
_MADE: weakref.WeakSet[Phrase] = weakref.WeakSet()  # for `read_all`

# The same few texts (a message's new text, subject, signature) go through all the phrases:
# the probes of the last few texts are kept.
_KEPT = 16
_probes: dict[str, Probe] = {}


def probe_of(text: str) -> Probe:
    """The probe of a text, kept for the next few texts."""
    probe = _probes.get(text)
    return probe if probe is not None else _keep(text, Probe(text))


def prefix(text: str, end: int) -> str:
    """`text[:end]`, its probe worked out from that of `text` (see `Probe.prefix`)."""
    head = text[:end]
    if len(head) < len(text) and head not in _probes:
        _keep(head, probe_of(text).prefix(end))
    return head


def joined(parts: list[str]) -> str:
    """The parts joined with line breaks, the probe worked out from those of the parts."""
    text = "\n".join(parts)
    if len(parts) > 1 and text not in _probes:
        _keep(text, Probe.joined([probe_of(part) for part in parts]))
    return text


def _keep(text: str, probe: Probe) -> Probe:
    if len(_probes) >= _KEPT:
        del _probes[next(iter(_probes))]  # the oldest
    _probes[text] = probe
    return probe


def read_all() -> None:
    """Read every phrase made so far (once `detect` is imported: all of detection's) now,
    rather than on first use: for a worker process, before its first message."""
    for phrase in list(_MADE):
        if phrase.finders is None:
            phrase.read()
