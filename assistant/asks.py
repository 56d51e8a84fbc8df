"""Requests: the sentences of a message that ask me to do something, as short tasks.

"Could you please send me two references by Friday?" becomes the task "send me two
references by Friday", due that Friday (resolved against the message's Date).  What
the sender promises to do themselves ("I'll ask him if he's open to chatting") and
what a sentence asks of another recipient ("Leo, can you book the table?") are not
asks of me.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Iterator
from datetime import datetime
from functools import lru_cache

from . import cues
from .dates import find_due
from .mail import Request
from .people import fold
from .phrases import Probe, prefix, probe_of

MAX_ASK_CHARS = 4000  # asks come early in a message; this bounds the work
MAX_ASKS = 5

# The polite frame around an ask: "Could you please send ..." is the task "send ...".
_POLITE = re.compile(
    r"^(?:(?:could|can|would|will)\s+(?:you|u)\s+(?:please\s+|possibly\s+|also\s+)?|please\s+|just\s+|"
    r"(?:i['’]?d|i\s+would|we['’]?d|we\s+would)\s+like\s+you\s+to\s+|(?:i|we)\s+need\s+you\s+to\s+)",
    re.IGNORECASE,
)
# Sentences end after ".", "!" or "?", at a blank line, and at a line break, unless the next
# line starts in lower case: a client broke the sentence there ("Please let\nme know by Friday").
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n[^\S\n]*(?:\n\s*)+|\n(?![^\S\n]*[a-zß-öø-ÿ])")
_VOCATIVE = re.compile(r"^\s*(?:(?:hi|hey|and|so|also|oh)\s+)?([^\W\d_][\w'’-]*)\s*(?:,|\s[-–—])\s")


def find_asks(text: str, date: datetime | None, my_names: Collection[str], others: Collection[str]) -> list[tuple[Request, str]]:
    """(task, reason) for each sentence of `text` (unwrapped: a line is a paragraph) that asks me something.

    `my_names` and `others` are folded first names: mine, and the other recipients'.
    """
    out: list[tuple[Request, str]] = []
    text = without_promises(prefix(text, MAX_ASK_CHARS))
    whole = probe_of(text)
    if not cues.ASK.first(whole):  # one pass over the text before going sentence by sentence
        return out
    # A sentence has no word the text has not, and an ask in it begins at its start or where
    # one may begin in the text: most sentences need no look.
    asks = cues.ASK.within(whole)
    places = asks.places(whole)
    for start, end in _sentence_spans(text):
        if places is not None and not _between(places, start, end) and not asks.begins(whole, start, end):
            continue
        sentence = text[start:end].replace("\n", " ")
        hit = asks.first(Probe(sentence))  # (not kept: each sentence is read once)
        if hit and not _addressed_to_other(sentence, my_names, others):
            found, ask = hit
            phrase = _POLITE.sub("", sentence[found.start() :].strip(" ,.-–—!?:;"))[:120]
            out.append((Request(phrase, find_due(sentence, date)), ask.label))
    return out[:MAX_ASKS]


def _sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where the sentences of `text` are: the pieces `_SENTENCES.split(text)` gives."""
    start = 0
    for gap in _SENTENCES.finditer(text):
        yield start, gap.start()
        start = gap.end()
    yield start, len(text)


def _between(places: list[int], start: int, end: int) -> bool:
    """Whether one of `places` (in order) is at `start` or after it, and before `end`."""
    index = bisect_left(places, start)
    return index < len(places) and places[index] < end


def _addressed_to_other(sentence: str, my_names: Collection[str], others: Collection[str]) -> bool:
    """A sentence that names another recipient first ("Leo, can you book the table?") asks them, not me."""
    found = _VOCATIVE.match(sentence)
    if not found:
        return False
    name = fold(found.group(1))
    return name not in my_names and name in others


@lru_cache(maxsize=8)  # asks and referrals both read a message's new text without them
def without_promises(text: str) -> str:
    """The text without what the sender promises to do themselves ("I'll reach out to Tom")."""
    return cues.PROMISE.sub(" ", text)
