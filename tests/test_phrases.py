"""The regex of a phrase's finder (`phrase_reading.finder_regex`), a trie of the beginnings of
its strings, finds what an alternation of them finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.phrase_reading import _LONG_ENOUGH, _MORE_SPACE, finder_regex

# Parts of finders' strings as `phrase_reading` writes them: lower case, white space as " ",
# and `_MORE_SPACE` after a " " for any more of it.
_PARTS = st.lists(st.sampled_from(["a", "b", "é", ".", " ", " " + _MORE_SPACE]), max_size=12).map("".join)


def _places(regex: re.Pattern, text: str) -> list[int]:
    return [at for at in range(len(text) + 1) if regex.match(text, at)]


def _written_out(strings: frozenset[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(s).replace(_MORE_SPACE, " *") for s in strings))


@settings(max_examples=300, deadline=None)
@given(_PARTS, st.lists(_PARTS, min_size=1, max_size=6), st.data())
def test_a_finder_finds_where_the_beginnings_of_its_strings_are(stem, ends, data):
    """It finds where the first `_LONG_ENOUGH` characters of one of its strings are: every place
    where one of the strings is, and no place where none of their beginnings is."""
    strings = frozenset(stem + end for end in ends)  # alike at first, as a finder's are
    # A text of the strings and of beginnings of them (white space for `_MORE_SPACE`), and other characters.
    cuts = st.integers(0, _LONG_ENOUGH + 1) | st.sampled_from([_LONG_ENOUGH - 1, _LONG_ENOUGH])
    beginnings = [s[: data.draw(cuts)] for s in sorted(strings)]
    shown = [s.replace(_MORE_SPACE, data.draw(st.sampled_from(["", " ", "  "]))) for s in [*sorted(strings), *beginnings]]
    text = "".join(data.draw(st.lists(st.sampled_from([*shown, "a", "b", "x", " "]), max_size=6)))
    found = _places(finder_regex(strings), text)
    assert found == _places(_written_out(frozenset(s[:_LONG_ENOUGH] for s in strings)), text)
    assert set(_places(_written_out(strings), text)) <= set(found)
