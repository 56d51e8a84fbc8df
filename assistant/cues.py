"""Phrase families that signal each kind of message, as people actually write them.

Each family is a tuple of `Phrase`s: a regex, its label (which goes into
`Detection.reasons`) and keywords, one of which a text contains before the regex is
tried.  The families describe ways of saying a thing ("meet X", "looping in", "you
two should talk"), not sentences of any one message.  Patterns that need the user's
first name ("meet Jordan", "Jordan is ...") are built per name by `me_patterns`.
"""

from __future__ import annotations

import re
from functools import lru_cache

try:  # the regex module's own parser, private: without it phrases are searched the plain way
    import re._constants as _sre
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre = _sre_parse = None

_I = re.IGNORECASE


# --- finding phrases fast --------------------------------------------------------------------
#
# Python's regex engine tries a pattern at every position of a text when the pattern ignores
# case or starts with "\b": a 2,000-character body costs ten to fifty microseconds a pattern,
# found or not, and some seventy patterns read every message.  But a pattern here can only
# begin in a few ways ("could you", "please send", ". just send") and needs a few words
# ("could" or "can", then "you" or "u"); `_Reading` works both out from the pattern itself.
# A text is lower-cased and split into words once (`_Probe`): a pattern whose words are not
# all there is skipped, and otherwise tried only where one of its beginnings occurs.  Every
# answer is exactly what `pattern.search` gives.


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
        # regex each, over the text lower-cased with white space as " " (see `_Probe`).
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
        return self._search(_probe(text), end)

    def sub(self, replacement: str, text: str) -> str:
        """`pattern.sub(replacement, text)`, for a replacement without backslashes."""
        if self.finders is None:
            self._read()
        probe = _probe(text)
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
        return self._has_key(_probe(text), len(text))

    # Plain loops rather than any() below: these run some seventy times a message.

    def _search(self, probe: _Probe, end: int | None = None) -> re.Match | None:
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

    def _may_match(self, probe: _Probe, end: int, words: frozenset[str] | None) -> bool:
        """The cheap tests: the words every match needs (`words`: the text's, None when unknown), then the keys."""
        if words is not None:
            for clause in self.clauses:
                if clause.isdisjoint(words):
                    return False
        return self.keyed or words is not None and not self.key_words.isdisjoint(words) or self._has_key(probe, end)

    def _has_key(self, probe: _Probe, end: int) -> bool:
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


class Family(tuple):
    """Phrases, in order of preference."""


def _family(*cues: tuple[str, str, str]) -> Family:
    """Phrases as (keys separated by "|", regex, label)."""
    return Family(Phrase(p, label, tuple(keys.split("|"))) for keys, p, label in cues)


class _Probe:
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
_probe = lru_cache(maxsize=16)(_Probe)  # the same few texts go through all the phrases


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


# Strong: the sender is making an introduction.
INTRO = _family(
    ("introduc", r"\bintroduc(e|ed|es|ing|tion)\b", "phrase 'introduce'"),
    # "Tom, Jordan; Jordan, Tom." and "Jordan – Ana; Ana – Jordan": the pairing idiom.
    (";|/", r"\b(?P<a>[^\W\d_]{2,})\s*[-–—,:]\s*(?P<b>[^\W\d_]{2,})\s*[;/.]\s*(?P=b)\s*[-–—,:]\s*(?P=a)\b", "phrase 'A, B; B, A'"),
    ("intro", r"\bintro\b", "phrase 'intro'"),
    # "meet" and a name ("Sam, meet Dana", "Meet Jordan"), not "meet up" or "nice to meet you".
    ("meet", r"\bmeet\s+(?!up\b)(?-i:[^\W\d_a-zß-ÿ])", "phrase 'meet X'"),
    ("connect", r"\bconnect(ing)?\s+(you|u)\b|\bconnect\s+the\s+two\s+of\s+you\b", "phrase 'connecting you'"),
    ("touch", r"\bput(ting)?\s+(you|u)\s+(two\s+|both\s+)?in\s+touch\b", "phrase 'put you in touch'"),
    ("loop|add|includ|+", r"\bloop(ing|ed)?\s+in\b|\b(adding|added|including|included)\s+(?-i:[^\W\d_a-zß-ÿ])|(^|\s)\+[^\W\d_]{2,}", "phrase 'looping in'"),
    ("this is", r"(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+\s*[,\-–—]\s*this\s+is\s+(?-i:[^\W\d_a-zß-ÿ])", "phrase 'X, this is Y'"),
    ("cc|copying", r"\bcc['’]?(d|ed|ing)\b|\bcopying\s+[^\W\d_]+|\b(on|in|to)\s+(the\s+)?cc\b", "phrase 'cc'd'"),
    ("you two|you both", r"\byou\s+(two|both)\s+(should|need\s+to|must|ought\s+to|would|will|might)\s+(really\s+)?(talk|meet|connect|chat|know|hit\s+it\s+off|get\s+along|enjoy)", "phrase 'you two should talk'"),
    ("you two|you both|two of you", r"\b(like|want|wanted)\s+(you\s+two|you\s+both|the\s+two\s+of\s+you)\s+to\s+(meet|connect|talk)", "phrase 'you two should talk'"),
)
# Weak: common in introductions, but also elsewhere.
INTRO_WEAK = _family(
    ("you two|you both|both of you|two of you", r"\b(you\s+two|you\s+both|both\s+of\s+you|the\s+two\s+of\s+you)\b", "phrase 'you two'"),
    ("both|all|you two", r"^\s*(hi|hello|dear|hey)\s+(both|all|you\s+two)\b", "greeting both"),
    ("from here|over to you|step back|leave|let you", r"\b(take\s+it\s+from\s+here|over\s+to\s+you|step\s+back|leave\s+(it|the\s+arrangements)\s+to\s+you|let\s+you\s+(two|both|guys))\b", "phrase 'over to you'"),
)
# The contact answering an introduction ("thanks for the intro, moving Sam to bcc").
INTRO_REPLY = _family(
    ("thank", r"\bthanks?(\s+you)?(\s+so\s+much)?(,\s*[^\W\d_]+,?)?\s+for\s+(the\s+|this\s+|making\s+the\s+)?(intro|introduction|connecting|connection)", "thanks for the intro"),
    # ("Moving myself to bcc" is the introducer stepping out of their own introduction.)
    ("bcc", r"\b(moving|move|moved|putting)\s+(?!(myself|me)\b)[^\n]{0,40}\bto\s+bcc\b|\(\s*bcc['’]?d\s*\)|(?<!myself )(?<!me )\bto\s+bcc\b", "moves the introducer to bcc"),
)
# The contact writing first at the introducer's suggestion, introducing themselves:
# the recipient in Cc is the introducer, not someone to meet.
SELF_INTRO = Phrase(
    r"\bintroduc(e|ing)\s+myself\b|\b(suggested|told\s+me)\s+(that\s+)?i\s+(should\s+)?(reach\s+out|get\s+in\s+touch|contact|e-?mail|write)",
    keys=("myself", "suggested", "told me"),
)
# How a sender hands over someone to contact.
REFERRAL = _family(
    ("reach|you should|you could|you can|whom", r"\breach(ing)?\s+out\s+(to\b|anytime|directly)|\bwhom?\s+you\s+(should|could|can)\s+(reach|contact|talk)", "phrase 'reach out to'"),
    ("touch|hold of", r"\b(get|getting|be|got)\s+in\s+touch\s+with\b|\b(get|getting|got)\s+(a\s+)?hold\s+of\b", "phrase 'get in touch with'"),
    ("talk|speak|chat", r"\b(talk|speak|chat)\s+(to|with)\b", "phrase 'talk to'"),
    ("word with|chat with|yarn with|natter with", r"\b(have|grab)\s+a\s+(quick\s+)?(word|chat|natter|yarn)\s+with\b", "phrase 'have a word with'"),
    ("connect", r"\bconnect(ing)?\s+with\b|\bconnection\s+request\b", "phrase 'connect with'"),
    ("sent you|mention|my name|use me|drop me", r"\btell\s+\w+\s+(that\s+)?\w+\s+sent\s+you\b|\b(mention|use|drop)\s+(me|my\s+name)\b|\bsay\s+i\s+sent\s+you\b", "phrase 'tell them I sent you'"),
    ("mentioned|promised|talked about|told you about|worth", r"\b(the\s+[^\W\d_]+|someone)\s+(i|we)\s+(mentioned|promised|talked\s+about|told\s+you\s+about)\b|"
     r"\bworth\s+(reaching\s+out\s+to|talking\s+to|contacting|a\s+(note|message|call|e-?mail|ping))\b", "names the person to contact"),
    ("you should|you need|you have to|you must|you ought|you might want", r"\byou\s+(really\s+)?(should|need\s+to|have\s+to|must|ought\s+to|might\s+want\s+to)\s+(meet|talk\s+to|speak\s+(to|with)|contact|e-?mail|call|ring|reach\s+out|get\s+in\s+touch|connect)\b", "phrase 'you should meet X'"),
    ("recommend|suggest", r"\brecommend\s+(that\s+)?you\s+(contact|reach|talk|speak|e-?mail|call)\b|\bsuggest\s+(connecting|reaching|talking|contacting|you\s+(contact|reach|talk))\b", "recommends a contact"),
    ("meet|about you", r"\bask\s+(if\s+you\s+can|to)\s+meet\b|\bi\s+(spoke|talked)\s+(with|to)\b[^.]{0,60}\babout\s+you\b", "phrase 'ask to meet'"),
    ("my way|have |up for|expecting", r"\bsend\s+\w+\s+my\s+way\b|\bhave\s+\w+\s+(reach\s+out|contact\s+me|call\s+me|e-?mail\s+(me|us))\b|\bup\s+for\s+a\s+(chat|call|coffee)\b|\bexpecting\s+(your|to\s+hear)\b", "contact agreed to hear from me"),
    ("person to|told him|told her|told them", r"\b(best|right)\s+person\s+to\s+(ask|talk\s+to|contact|speak\s+(to|with))\b|"
     r"\btold\s+(him|her|them)\s+(that\s+)?you\s+(might|would|will|may)\s+(write|reach|e-?mail|call|contact|get\s+in\s+touch)\b", "names the person to contact"),
    ("happy to|glad to|keen to", r"\b(happy|glad|keen)\s+to\s+(chat|talk|help|meet|speak)\s+with\b", "contact agreed to hear from me"),
    # The contact, in a forwarded reply: "tell Jordan to write to me", "have her email me".
    ("tell", r"\btell\s+\w+\s+to\s+(write|e-?mail|call|ring|text|reach\s+out|contact|get\s+in\s+touch)\b", "contact agreed to hear from me"),
    ("know", r"\bi\s+(only\s+)?know\s+(one|someone|somebody|a\s+(person|guy|woman|few\s+people))\b", "phrase 'I know someone'"),
    ("drop|shoot|send", r"\b(drop|shoot|send)\s+(him|her|them)\s+a\s+(line|note|message|mail|email)\b", "phrase 'drop them a line'"),
    # A contact verb and a name: "Ping Lisa Tran", "you should email Paul", "give Mark a ring".
    ("ping|mail|contact|call|text|message|try|ring|reach|write|dm", r"\b(ping|e-?mail|contact|call|text|message|try|ring|reach|write\s+to|dm|inmail)\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+(\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)?\s*(\(|<|at\b|on\b|[-–—,])", "phrase 'contact X'"),
    ("give", r"\bgive\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+(\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)?\s+a\s+(call|ring|shout|buzz|text)\b", "phrase 'give X a call'"),
)
# Contact details handed over: a referral only where the talk is about work (see JOB_CONTEXT).
REFERRAL_WEAK = _family(
    ("him|her|them", r"\b(contact|e-?mail|call|text|ping|message|telephone|phone|ring)\s+(him|her|them)\b|\bgive\s+(him|her|them)\s+a\s+(call|ring|shout|text|bell|buzz)\b", "phrase 'contact him/her'"),
    ("mail|address|number|cell|phone|mobile|linkedin|profile|info|details|contact", r"\b(his|her|their|[^\W\d_]+['’]s)\s+(e-?mail(\s+address)?|address|number|cell|phone|mobile|linkedin|profile|info|details|contact\s+info)\s*(is|:)", "gives contact details"),
    ("here", r"\bhere['’]?s\s+(his|her|their|[^\W\d_]+['’]s)\s+(e-?mail|number|cell|phone|linkedin|profile|contact)", "gives contact details"),
    ("you can|you could|you should|you might|linkedin", r"\byou\s+(can|could|should|might\s+want\s+to)\s+(e-?mail|reach|call|text|contact|find|message|ping|write\s+to)\b|\blinkedin\s*:", "gives contact details"),
)
# A step in a process already under way (an interview, an offer): asks there are requests, not leads.
PROCESS = Phrase(
    r"\b(interview(s|ing)?|offer|references?|background\s+check|paperwork|next\s+(round|steps?)|your\s+application|"
    r"move\s+forward|take-?home|assessment|start\s+date)\b",
)
# Selling something: a cold sales note asks for a call too, but it is not a request to act on.
SALES = Phrase(
    r"\b(book|schedule)\s+a\s+demo\b|\bfree\s+trial\b|\bour\s+(new\s+)?(product|platform|solution|tool|software|app|service)s?\b|"
    r"\bhelp\s+(your|you\s+and\s+your)\s+(team|company|business|organi[sz]ation)\b|\b\d+%\s+off\b|\bpricing\s+plans?\b",
    keys=("demo", "trial", "our ", "help your", "help you and", "% off", "pricing"),
)
# Work talk: a referral is about a job search, not about a cousin's new address.
JOB_CONTEXT = Phrase(
    r"\b(hir(e|es|ed|ing)|jobs?|roles?|positions?|opening|team|compan(y|ies)|interview|career|recruit\w*|resume|cv|"
    r"engineer\w*|analy(st|sts|tics)|data|manager|director|vp|head\s+of|lead(s|er)?|works?\s+(at|for|on)|joined|startup|"
    r"industry|opportunit(y|ies)|portfolio|colleague|network|chat|coffee|advice|intro(duction)?|"
    r"platform|product|business|firm|employer|department|agency|clients?|(co-?)?founder|ceo|cto|cfo|coo|built|runs|tech(nology)?)\b",
)
# The sender promising to do something themselves ("I'll reach out to Tom"): not a referral yet.
PROMISE = Phrase(
    r"\b(i['’]ll|i\s+will|let\s+me|i['’]m\s+going\s+to|i['’]d\s+be\s+happy\s+to|(?<!\bis\s)(?<!['’]s\s)(?<!\bare\s)(?<!\bwas\s)happy\s+to)\s+(\w+\s+){0,2}?"
    r"(reach\s+out|talk|speak|e-?mail|ping|ask|introduce|connect|loop|check|send|forward|put\s+you)\b[^.!?\n]*[.!?]?",
    keys=("i'll", "i’ll", "i will", "let me", "going to", "happy to"),
)
# A forwarder saying whose introduction it really is ("on behalf of Ana", "Ana asked me to pass this on").
ON_BEHALF = Phrase(
    r"\bon\s+behalf\s+of\s+(?:my\s+\w+\s+)?(?P<a>(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)|"
    r"\b(?P<b>(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)(?:\s+(?-i:[^\W\d_a-zß-ÿ])[\w'’-]+)?\s+asked\s+me\s+to\s+(?:forward|pass|send|share)",
    keys=("behalf", "asked me"),
)
# A person telling me about an opening.
LEAD = _family(
    ("hiring|recruit", r"\b(is|are|am|['’]re|['’]m|['’]s|been|still|now)\s+(hiring|recruiting)\b|\bhiring\s+(a|an|for)\b|\brecruit(ing)?\s+for\b", "phrase 'hiring'"),
    ("open|vacanc|headcount|went up", r"\b(opening|openings|vacanc(y|ies)|open\s+(role|position|req|spot|seat)|spot\s+open|headcount)\b|\b(just\s+)?opened\s+(up\s+)?(a|an)\b|\b(role|req|job|posting)\s+(just\s+)?(went\s+up|opened)\b", "phrase 'opening'"),
    ("role|position|job|opportunit", r"\b(role|position|job|opportunity)\s+(at|with|on)\b|\bthe\s+(role|position|job|opening)\s+(is|would\s+be)\b|\b(new|open|great|exciting)\s+(role|position|job|opportunity)\b", "names a role"),
    ("open|post|advertis", r"\b(open|opening|post|posting|advertis(e|ing))\s+(up\s+)?(a|an)\s+([^\W\d_]+\s+){0,4}(role|position|job|req|vacancy)\b", "phrase 'opening'"),
    ("post", r"\bpost(ed|ing)\b[^.\n]{0,40}\b(job|role|position|opening)\b|\b(job|role)\s+post(ing)?\b", "job posting"),
    ("engineer|developer|scientist|analyst|manager|designer|architect|lead", r"\b(looking\s+for|looking\s+to\s+hire|to\s+(find|hire|fill)|seeking|searching\s+for|need|needs|(is|are|['’]re)\s+after)\s+(a|an|another|two|more)\s+([^\W\d_]+\s+){0,4}(engineer|developer|scientist|analyst|manager|designer|architect|lead)s?\b", "phrase 'looking for a <role>'"),
    ("search|req ", r"\b(search|req)\s+for\s+(a|an)\b|\bon\s+(a|an|the)\s+([^\W\d_]+\s+){1,5}search\b", "recruiting search"),
    ("team", r"\b(growing|expanding|building\s+out|scaling(\s+up)?)\s+(the|their|its|our|his|her|my)\s+(\w+\s+){0,2}(team|group|function|department)\b", "team is growing"),
    ("first|founding", r"\b(our|their|his|her|a|an)\s+(first|founding)\s+([^\W\d_]+\s+){0,2}(hire|person|employee|engineer|analyst|scientist)\b", "phrase 'first hire'"),
    ("fit|apply|thought of|right up|worth a", r"\b(great|good|strong|perfect)\s+fit\b|\bapply(ing)?\b|\bthought\s+of\s+(you|u)\b|\bright\s+up\s+(your|ur)\s+(alley|street)\b|\bworth\s+a\s+(look|shot)\b", "suggests applying"),
)
# An opportunity offered outright (a referral, paid work): a lead without naming a role.
LEAD_OFFER = _family(
    ("refer you|recommend you|name forward|your resume|your cv|recruiter|referr", r"\b(refer|recommend)\s+you\b|\b(put|list)\s+(down\s+)?(my\s+name|me)\s+(down\s+)?as\s+(the\s+|a\s+|your\s+)?referr(er|al)\b|\bput\s+your\s+name\s+forward\b|\bpass\s+(along|on)\s+your\s+(resume|cv)\b|\bi['’]?m\s+a\s+recruiter\b", "offers to refer me"),
    ("budget|paid|consulting|freelance|contract|short|taking on", r"\bbudget\s+for\s+(a|an)\s+(short\s+|small\s+|paid\s+)?(engagement|project|contract)\b|\b(paid|consulting|freelance|contract)\s+(engagement|gig|opportunity)\b|"
     r"\bshort\s+(engagement|contract|gig)\b|\btaking\s+on\s+(new\s+)?(clients|projects|work)\b", "offers paid work"),
    ("someone to", r"\blooking\s+for\s+someone\s+to\s+(help|work|lead|build|join|run)\b", "looking for someone like me"),
)
# What follows an ask's verb: something to act on, not just another word.
_OBJECT = (r"(me|us|your|my|a|an|the|this|that|these|those|it|them|him|her|both|back|over|along|through|out|up|"
           r"in|on|by|to|with|and|some|any|all|two|three|\d+|here|online|now|know)")
# Asks: what the sender wants me to do.
ASK = _family(
    ("you|u ", r"\b(could|can|would|will)\s+(you|u)\s+(please\s+|possibly\s+|also\s+)?(send|share|forward|fill|complete|call|give|book|schedule|pick|grab|set\s+up|sign|submit|review|confirm|reply|provide|email|e-mail|text|let\s+me\s+know|get\s+back|put\s+together|write|update|check|find|make|do|return|upload|bring|prepare|walk|join|register|read|take\s+a\s+look|look\s+over|introduce|rsvp)\b", "asks 'could you ...'"),
    # "please" and a verb with something to act on ("please send me", "please pick a slot", "please apply.").
    # "let" says whom and what: "please let me know by Friday" asks something, "please let." or
    # "please let me know." alone does not.
    ("please", r"\bplease\s+((send|share|forward|fill|complete|call|give|book|schedule|pick|grab|set\s+up|sign|submit|review|confirm|reply|provide|email|e-mail|text|get\s+back|find|apply|do|make|return|upload|bring|prepare|register|read|take|look|rsvp)"
     rf"(\s+{_OBJECT}\b|\s*[.!?]|\s*$)|let\s+(me|us|him|her|them)\s+[^\W\d_]+\s+\w)", "asks 'please ...'"),
    ("send|share|forward|grab|book|pick|reply|call|text|mail|fill|sign|submit|apply", r"(^|[.!?]\s+|[-–—]\s+|,\s+)(just\s+)?(send|share|forward|grab|book|pick|reply|call|text|email|e-mail|fill\s+out|sign|submit|apply)\s+(me|us|your|my|a|an|any|the|both|it|over|through|with|him|her)\b", "imperative ask"),
    ("like you|need", r"\b(i['’]?d|i\s+would|we['’]?d|we\s+would)\s+like\s+you\s+to\b|\b(i|we)\s+need\s+(you\s+to|a\s+copy|your)\b", "states what they need from me"),
    ("best|free|available|have|what time|what day|works|availability", r"\b(what['’]?s|what\s+would\s+be|what\s+is)\s+the\s+best\s+(number|time|way|email)\b|\b(would|do)\s+you\s+have\s+(\d+|a\s+few|some|time)\b|\bwhen\s+(are\s+you|would\s+you\s+be)\s+(free|available)\b|"
     r"\bwhat\s+(times?|days?)\s+(work|suit|would\s+work)\b|\bwhen\s+works\s+(for|best\s+for)\s+you\b|\byour\s+availability\b", "asks for contact or time"),
    ("did you", r"\bdid\s+you\s+(ever\s+)?(get\s+a\s+chance|manage)\s+to\b", "asks for something promised"),
    ("mind|if you could|let me know", r"\b(would|do)\s+you\s+mind\s+\w+ing\b|\bmind\s+sending\b|\b(it\s+would\s+be\s+(great|helpful)|i['’]?d\s+appreciate\s+it)\s+if\s+you\s+could\b|"
     r"\blet\s+me\s+know\s+(your\s+availability|when\s+you['’]?re\s+(free|available)|a\s+good\s+time|what\s+works)\b", "asks 'would you mind ...'"),
    ("open to|available to|would you be|interest|let me know", r"\b(open|available)\s+to\s+(a\s+)?(chat|chatting|call|talk|talking|meet)|\bwould\s+you\s+be\s+(open|interested|up)\b|\bany\s+interest\b|\blet\s+me\s+know\s+(either\s+way|if\s+you['’]?re\s+interested|what\s+you\s+think)\b", "asks if I am interested"),
    ("can we|could we|shall we", r"\b(can|could|shall)\s+we\s+((jump|hop|get)\s+on\s+a\s+(quick\s+)?(call|zoom|video)|(set\s+up|schedule|book|arrange|find)\s+(a|some)\s+(quick\s+)?(time|call|chat|meeting))\b", "asks to meet"),
    ("grab|get|are you", r"\b(want|like|love)\s+to\s+(grab|get)\s+(a\s+)?(coffee|call|lunch|drink)\b|\bare\s+you\s+(free|around|available)\b", "asks to meet"),
)


_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|hiya|greetings|good\s+(?:morning|afternoon|evening))\b[ \t,]*(?P<who>[^,!:.\n—–-]{0,40})"
    r"|(?P<alone>[^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*)?)\s*,\s*$)",
    _I,
)
# Salutations to a crowd or a role: what mass mail says where personal mail says a name.
_GROUPS = frozenset("all everyone everybody team folks guys friends colleagues sir sirs madam executive candidate customer member members user".split())


def greeting_target(text: str, my_names: set[str], fold) -> str | None:
    """Whom the text greets: "me", "group" ("Dear all", "Dear Candidate"), "other" ("Simone,"), or None."""
    for index, line in enumerate([ln for ln in text.split("\n", 6) if ln.strip()][:3]):
        found = _GREETING.match(line)
        if not found or (found.group("alone") and index > 0):
            continue  # a bare "Name," greets only as the first line ("Best," closes)
        who = (found.group("who") or found.group("alone") or "").strip()
        if not who or who.lower() in ("there", "you", "both", "you both", "you two"):
            return None  # neutral, or both of us (an introduction thread)
        words = {fold(w) for w in re.split(r"[\s&]+|\band\b", who) if w}
        if words & my_names:
            return "me"
        return "group" if words & _GROUPS else "other"
    return None


@lru_cache(maxsize=64)
def me_patterns(first: str) -> Family:
    """Ways a third party presents me to someone else ("meet Jordan", "Jordan is a ...")."""
    name = re.escape(first)
    key = first.lower()
    return _family(
        (key, rf"\b(meet|introduce|introducing|here['’]?s|this\s+is)\s+{name}\b", f"presents {first}"),
        (key, rf"\b{name}\s+(is|was|has|had|knows|spent|built|would|and\s+i\b|asked|mentioned)\b", f"describes {first} to the other person"),
    )


def first_match(text: str, family: Family) -> str | None:
    probe = _probe(text)
    for phrase in family:
        if phrase._search(probe):
            return phrase.label
    return None


def all_matches(text: str, family: Family) -> list[str]:
    probe = _probe(text)
    labels: list[str] = []
    for phrase in family:
        if phrase.label not in labels and phrase._search(probe):
            labels.append(phrase.label)
    return labels


def first_hit(text: str, family: Family) -> tuple[re.Match, str] | None:
    """The first phrase of `family` in `text`, with where it matched."""
    probe = _probe(text)
    for phrase in family:
        found = phrase._search(probe)
        if found:
            return found, phrase.label
    return None
