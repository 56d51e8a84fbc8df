"""Real mail no one here wrote (../shared/public-corpora, see its README).

- every message (CPython's email fixtures, SpamScope's malformed spam, talon's
  replies) parses and classifies without an exception, and none is a positive, even
  when addressed to the user;
- every bare reply body (email_reply_parser, talon HTML and signature fixtures),
  sent to the user by a person, is not a positive either;
- the quote stripper reduces talon's replies to their expected text, and the
  signature splitter keeps the known signatures out of the new text;
- the pathological and 750 KB bodies are read in bounded time.
"""

from __future__ import annotations

import mailbox
import re
import time
from pathlib import Path

import pytest

from assistant.detect import classify_bytes
from assistant.html import html_to_text
from assistant.mime import raw_from_bytes
from assistant.parse import ParseError, parse, parse_addresses
from assistant.quotes import reply_text, split_signature
from shared_data import SHARED, shared_dir

ROOT = SHARED / "public-corpora"
CPYTHON = ROOT / "python__cpython/Lib/test/test_email/data"
SPAMSCOPE = ROOT / "SpamScope__mail-parser/tests/mails"
TALON = ROOT / "mailgun__talon/tests/fixtures"
REPLY_PARSER = ROOT / "github__email_reply_parser/test/emails"
ME = "dana.whitfield@example.net"


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


MESSAGES = [
    *_files(CPYTHON, "msg_*.txt"), *_files(SPAMSCOPE, "mail_*"), *_files(TALON / "standard_replies", "*.eml"),
    *_files(TALON, "*.eml"), *_files(TALON / "signature/emails/P", "[0-9u]*"),
]
BODIES = [
    *_files(REPLY_PARSER, "*.txt"), *_files(TALON / "html_replies", "*.html"), *_files(TALON, "*.html"),
    *_files(TALON / "signature/emails/stripped", "*_body"),
]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.fixture(autouse=True)
def _need_shared():
    shared_dir("public-corpora")


def _as_addressed_to_me(data: bytes) -> bytes:
    """The message with the user added to To, so that detection reads it as mail to me."""
    head, sep, body = data.partition(b"\n\n") if b"\r\n\r\n" not in data[:20000] else data.partition(b"\r\n\r\n")
    return b"To: " + ME.encode() + b"\r\n" + head + sep + body


@pytest.mark.parametrize("path", MESSAGES, ids=_ids(MESSAGES))
def test_message_parses_and_is_not_a_positive(path):
    data = path.read_bytes()
    try:
        parse(raw_from_bytes(data))
    except ParseError:
        pass  # a message with no header at all: rejected with a reason, see classify below
    for variant in (data, _as_addressed_to_me(data)):
        found = classify_bytes(variant, [ME])
        assert found.kind == "none", found.reasons
        assert found.reasons and not found.reasons[0].startswith("detection failed")


def test_mbox_messages_are_not_positives():
    path = CPYTHON / "mailbox_01.mbox"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    box = mailbox.mbox(path, create=False)
    try:
        messages = [message.as_bytes() for message in box]
    finally:
        box.close()
    assert messages
    assert all(classify_bytes(_as_addressed_to_me(m), [ME]).kind == "none" for m in messages)


@pytest.mark.parametrize("path", BODIES, ids=_ids(BODIES))
def test_reply_body_from_a_person_is_not_a_positive(path):
    subtype = "html" if path.suffix == ".html" else "plain"
    head = (f"From: Sam Oduya <sam.oduya@tidewater.example>\r\nTo: Dana <{ME}>\r\nSubject: Re: hello\r\n"
            f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nContent-Type: text/{subtype}; charset=utf-8\r\n\r\n")
    start = time.perf_counter()
    found = classify_bytes(head.encode() + path.read_bytes(), [ME])
    assert time.perf_counter() - start < 1.0
    assert found.kind == "none", found.reasons


@pytest.mark.parametrize("path", _files(TALON / "standard_replies", "*.eml"), ids=lambda p: p.name)
def test_talon_standard_replies_reduce_to_the_reply(path):
    expected_file = path.with_name(f"{path.stem}_reply_text")
    expected = expected_file.read_text(encoding="utf-8").strip() if expected_file.exists() else "Hello"
    assert reply_text(parse(raw_from_bytes(path.read_bytes())).text).strip() == expected


@pytest.mark.parametrize("path", _files(TALON / "html_replies", "*.html"), ids=lambda p: p.name)
def test_talon_html_replies_reduce_to_the_reply(path):
    text = reply_text(html_to_text(path.read_text(encoding="utf-8", errors="replace")))
    assert re.sub(r"\s+", "", text) == "Hi.Iamfine.Thanks,Alex"


def test_talon_outlook_quote_section_and_hr_separated_reply():
    assert reply_text(html_to_text((TALON / "OLK_SRC_BODY_SECTION.html").read_text(encoding="utf-8"))) == "Reply"
    text = reply_text(html_to_text((TALON / "reply-separated-by-hr.html").read_text(encoding="utf-8")))
    assert "Subject:" not in text and re.sub(r"\s+", " ", text) == "Hi there Bob"


# (johndoeexamplecom marks its signature lines with "#sig#", a training format, not mail.)
@pytest.mark.parametrize("stem", ["camel_case", "jeff", "long", "short_url", "sparse"])
def test_talon_signatures_do_not_leak_into_the_new_text(stem):
    folder = TALON / "signature/emails/stripped"
    sender = (folder / f"{stem}_sender").read_text(encoding="utf-8").strip()
    people = parse_addresses(sender)
    name = (people[0].name or people[0].email.split("@")[0]) if people else sender
    names = tuple({name.lower(), name.split()[0].lower()}) if name else ()
    body, _ = split_signature((folder / f"{stem}_body").read_text(encoding="utf-8"), names)
    signature = (folder / f"{stem}_signature").read_text(encoding="utf-8")
    details = [line.strip() for line in signature.splitlines() if re.search(r"\d{3}|@|https?://|www\.", line)]
    assert not [d for d in details if d in body]


def _reply_parser(name: str) -> str:
    return (REPLY_PARSER / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["email_iPhone.txt", "email_BlackBerry.txt", "email_multi_word_sent_from_my_mobile_device.txt"])
def test_mobile_signatures_are_cut(name):
    assert split_signature(reply_text(_reply_parser(name)))[0] == "Here is another email"


def test_lines_that_only_look_like_signatures_are_kept():
    assert "Sent from my desk" in split_signature(reply_text(_reply_parser("email_sent_from_my_not_signature.txt")))[0]
    assert "this is not a signature" in split_signature(_reply_parser("email_sig_delimiter_in_middle_of_line.txt"))[0]
    body, sig = split_signature(_reply_parser("correct_sig.txt"))
    assert body == "this is an email with a correct -- signature." and sig.endswith("rick")
    assert "- how about bullets" in reply_text(_reply_parser("email_bullets.txt"))


def test_top_bottom_and_inline_posting():
    top = reply_text(_reply_parser("email_1_3.txt"))
    assert top.startswith("Oh thanks.") and "Hi folks" not in top
    bottom = reply_text(_reply_parser("email_1_2.txt"))
    assert "You can list the keys for the bucket" in bottom and "Hi folks" not in bottom
    assert reply_text(_reply_parser("greedy_on.txt")).startswith("On your remote host you can run:")
    assert "One outstanding question" in reply_text(_reply_parser("email_one_is_not_on.txt"))


@pytest.mark.parametrize("name", ["pathological.txt", "email_long_quote.txt"])
def test_hostile_bodies_in_bounded_time(name):
    text = _reply_parser(name)
    start = time.perf_counter()
    reply_text(text)
    assert time.perf_counter() - start < 0.5
