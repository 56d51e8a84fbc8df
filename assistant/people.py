"""People in text: names, addresses, phone numbers and profile links, and how they match.

Names are compared "folded" (lower case, accents and punctuation removed), so that
"Björn" in the text matches bjorn_eklund@..., "Min-jun" matches minjun.cho@... and
"Becker, Tom" in a header matches "Tom Becker" in a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .mail import Person

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# North American numbers, and international ones written with their "+" country code.
PHONE = re.compile(
    r"(?<![\d/])(?:(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"|\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,4}[\s.-]?\d{2,4}"
    # National numbers with a trunk "0" (UK, Australia, much of Europe and Asia): "07700 900 555", "020 7946 0958".
    r"|\(?0\d{1,4}\)?[\s.-]\d{3,4}[\s.-]?\d{3,4})(?![\d/])"
)
PROFILE = re.compile(r"(?:https?://)?(?:[\w-]+\.)?linkedin\.[a-z.]{2,12}/in/([\w%-]{2,100})", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# Capitalised words that start sentences or name things other than people.
_NOT_NAMES = frozenset(
    """i i'm i'd i'll i've a an the hi hey hello dear thanks thank cheers best regards yes no ok okay
    and or but so if as at by for from in into of on to with my your his her their our its this that
    these those there here he she they we you it who what when where why how please sorry also just
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december linkedin email e-mail phone cell mobile direct
    fyi re fw fwd ps cc bcc ceo cto vp hr good great happy hope looking let will would could should can
    sent both all team everyone folks quick intro introduction meet tell ask have send reach grab give
    ping call contact try text message write talk speak connect check see note introducing dm ring""".split()
)


_COMBINING = re.compile(r"[\u0300-\u036f]+")
_NON_LETTERS = re.compile(r"[\W\d_]+")
_NO_DECOMPOSITION = {"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"}
_ASCII_NON_LETTERS = bytes(c for c in range(128) if not chr(c).isalpha())


def fold(text: str) -> str:
    """Lower case, without accents or anything but letters: for comparing names."""
    return _fold_cached(text) if len(text) < 64 else _fold(text)


def _fold(text: str) -> str:
    # Whole bodies are folded too (to look for a company's name): str.translate and a regex
    # substitution a gap cost a hundred times more there than these replaces and bytes.translate.
    text = text.lower()
    if not text.isascii():
        for letter, plain in _NO_DECOMPOSITION.items():
            if letter in text:
                text = text.replace(letter, plain)
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_NON_LETTERS).decode("ascii")
    return _NON_LETTERS.sub("", text)


_fold_cached = lru_cache(maxsize=8192)(_fold)  # names and words repeat across a mailbox


_HONORIFIC = re.compile(r"^(?:dr|mr|mrs|ms|mx|prof|sir|dame)\.?\s+(?=\S+\s)", re.IGNORECASE)


@lru_cache(maxsize=4096)  # the same few hundred names come back in every message
def clean_name(name: str) -> str:
    """A display name as people write it: "Becker, Tom" -> "Tom Becker", "sanjay iyer" -> "Sanjay Iyer"."""
    name = re.sub(r"\s*\((?:via [^)]*|[^)]*/[^)]*)\)", "", name).strip(" \"'")
    if "@" in name:
        return ""
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        if last and first and " " not in last:
            name = f"{first} {last}"
    if name and name == name.lower() and name.isascii():
        name = " ".join(w.capitalize() for w in name.split())
    return " ".join(name.split())


@lru_cache(maxsize=4096)  # the same addresses come back in every message
def local_tokens(email: str | None) -> tuple[str, ...]:
    """Folded words of an address's local part: "bjorn_eklund@x" -> ("bjorn", "eklund")."""
    if not email:
        return ()
    return tuple(fold(t) for t in re.split(r"[._+\-\d]+", email.split("@", 1)[0]) if fold(t))


def first_name(person: Person) -> str:
    """The name people greet someone by: the display name's first word, else the address's."""
    return _first_name(person.name, person.email)


# The same people come back in every message: kept by name and address, which hash faster than a Person.
@lru_cache(maxsize=4096)
def _first_name(display_name: str, email: str | None) -> str:
    name = _HONORIFIC.sub("", clean_name(display_name))  # "Dr. Amara Okonkwo" is Amara
    if name and has_ascii_letter(name):
        return name.split()[0]
    tokens = local_tokens(email)
    if len(tokens) >= 2 or (tokens and len(tokens[0]) <= 8):
        return tokens[0].capitalize()
    return ""


_ASCII_LETTER = re.compile("[A-Za-z]")


def has_ascii_letter(text: str) -> bool:
    """Whether the text has a letter of the Latin alphabet (A to Z, either case)."""
    return _ASCII_LETTER.search(text) is not None


def words(text: str) -> set[str]:
    """The folded words of a text, for quick "is this name mentioned" checks ("Mia's" is Mia)."""
    return {fold(w[:-2] if w.endswith(("'s", "’s")) else w) for w in _WORD.findall(text)}


def name_matches_address(name: str, email: str | None) -> bool:
    """Whether a name plausibly owns an address: "Ingrid Solberg" and isolberg@, "Tariq Aziz" and tariq.aziz@."""
    parts = [fold(p) for p in name.split() if fold(p)]
    tokens = local_tokens(email)
    if not parts or not tokens:
        return False
    joined = "".join(tokens)
    first, last = parts[0], parts[-1]
    if joined in (first, last, first + last, last + first, first[0] + last, first + last[0]):
        return True
    return len(parts) > 1 and (first in tokens and last in tokens or joined.endswith(last) and joined.startswith(first[0]))


# A word that starts with a capital (or a letter of a script without case), and runs of them.
_CAP_WORD = r"[^\W\d_a-zß-ÿ][^\W\d_]*(?:[-'’][^\W\d_]+)*"
_CAP_SEQ = re.compile(rf"{_CAP_WORD}(?:[ \xa0]{_CAP_WORD})*")


def name_runs(text: str, max_words: int = 3) -> list[tuple[str, int, int]]:
    """Runs of capitalised words ("Björn Eklund", "Quarry Street Software"): candidate names.

    The regex finds the capitalised stretches; stop words ("Hi", "Thanks", weekdays)
    and possessives ("Camila's") split them into runs of at most `max_words`.
    """
    runs: list[tuple[str, int, int]] = []
    for seq in _CAP_SEQ.finditer(text):
        current: list[tuple[str, int, int]] = []
        pos = seq.start()
        for word in seq.group(0).replace("\xa0", " ").split(" "):
            start = pos
            pos += len(word) + 1
            possessive = word.endswith(("'s", "’s"))
            if possessive:
                word = word[:-2]  # "Camila's number": the name is Camila
            if len(word) > 1 and word.lower() not in _NOT_NAMES:
                if len(current) >= max_words:
                    runs.append(_joined(current))
                    current = []
                current.append((word, start, start + len(word)))
            elif current:
                runs.append(_joined(current))
                current = []
            if possessive and current:
                runs.append(_joined(current))
                current = []
        if current:
            runs.append(_joined(current))
    return runs


def _joined(words: list[tuple[str, int, int]]) -> tuple[str, int, int]:
    return " ".join(w for w, _, _ in words), words[0][1], words[-1][2]


def slug_name(slug: str) -> str:
    """A profile slug as a name: "priya-natarajan-16d12" -> "Priya Natarajan"."""
    parts = [p for p in re.split(r"[-_%]+", slug) if p.isalpha()]
    return " ".join(p.capitalize() for p in parts[:3])


def address_name(email: str) -> str:
    """A name from an address of the form first.last@: "tariq.aziz@x" -> "Tariq Aziz"; else ""."""
    parts = re.split(r"[._]", email.split("@", 1)[0])
    if len(parts) == 2 and all(p.isalpha() and len(p) > 1 for p in parts):
        return f"{parts[0].capitalize()} {parts[1].capitalize()}"
    return ""
