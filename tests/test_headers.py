"""The lean header reader agrees with the standard library where it matters."""

from __future__ import annotations

from email.utils import getaddresses

from hypothesis import given, strategies as st

from assistant.mail import Person, RawMail
from assistant.parse import (
    MAX_CACHED_ADDRESSES_CHARS, ParseError, _read_recurring_addresses, add_text, header_fields, parse_addresses,
    parse_header,
)
from shared_data import shared_dir


def test_fields_are_unfolded_case_insensitive_and_first_wins():
    block = (b"From: Ann <ann@x.example>\r\nSubject: a long\r\n  folded subject\r\n"
             b"X-Thing: 1\r\nsubject: second\r\n\r\nBody: not a header\r\n")
    fields = header_fields(block)
    assert fields["subject"] == "a long  folded subject"
    assert fields["from"] == "Ann <ann@x.example>"
    assert "body" not in fields


_line = st.sampled_from(["From: a@b.example", "Subject: x\r", " folded", "To:\t<c@d.example>\r", "", "\r", "junk"])


@given(st.lists(_line, max_size=8))
def test_the_header_ends_at_the_first_line_that_is_empty_or_a_lone_cr(lines):
    blank = next((k for k, line in enumerate(lines) if line in ("", "\r")), len(lines))
    names = {line.split(":")[0].lower() for line in lines[:blank] if ":" in line and not line.startswith(" ")}
    assert set(header_fields("\n".join(lines).encode())) == names


def test_undeclared_8bit_header_text_is_read_as_windows_1252():
    assert header_fields("Subject: Caf\xe9\r\n\r\n".encode("cp1252"))["subject"] == "Café"


def test_encoded_names_and_quoted_commas():
    got = parse_addresses('"Doe, Jane" <JANE@x.example>, =?utf-8?B?QmrDtnJu?= <bjorn@y.example>, bare@z.example')
    assert got == (Person("Doe, Jane", "jane@x.example"), Person("Björn", "bjorn@y.example"), Person("", "bare@z.example"))


def test_control_characters_never_survive_in_names():
    got = parse_addresses("=?utf-8?q?Eve=0D=0ABcc=3A_x=40evil=2Eexample?= <eve@x.example>")
    assert got[0].email == "eve@x.example" and "\r" not in got[0].name and "\n" not in got[0].name


_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12)
_name = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .'-", max_size=20)


@given(st.lists(st.tuples(_name, _atom, _atom), min_size=1, max_size=4))
def test_the_fast_path_reads_plain_lists_as_the_standard_library(entries):
    value = ", ".join(f"{name} <{local}@{domain}.example>" if name.strip() else f"{local}@{domain}.example"
                      for name, local, domain in entries)
    expected = [(n.strip(" \"'"), a.lower()) for n, a in getaddresses([value]) if "@" in a]
    assert [(p.name, p.email) for p in parse_addresses(value)] == expected


def test_only_short_address_values_are_kept_for_the_next_message():
    short = "Ann <ann@x.example>, bob@y.example"
    assert parse_addresses(short) is parse_addresses(short)
    long = ", ".join(f"p{i}@x.example" for i in range(MAX_CACHED_ADDRESSES_CHARS // 10))
    kept = _read_recurring_addresses.cache_info().currsize
    assert len(parse_addresses(long)) == MAX_CACHED_ADDRESSES_CHARS // 10
    assert _read_recurring_addresses.cache_info().currsize == kept


def test_header_only_then_text():
    raw = RawMail("INBOX", 3, b"From: a@b.example\r\nMessage-ID: <m1@b.example>\r\n\r\n")
    mail = parse_header(raw)
    assert (mail.message_id, mail.text, mail.sender.email) == ("m1@b.example", "", "a@b.example")
    assert add_text(mail, ()).text == ""


def test_a_block_with_no_mail_header_is_rejected():
    try:
        parse_header(RawMail("INBOX", 1, b"\x00\xff garbage\r\n\r\n"))
    except ParseError as exc:
        assert "not a mail message" in str(exc)
    else:
        raise AssertionError("garbage accepted as a message")


def test_every_corpus_header_reads_as_the_standard_library_reads_it():
    from email import policy
    from email.parser import BytesHeaderParser

    parser = BytesHeaderParser(policy=policy.compat32)
    for path in sorted(shared_dir("corpus", "dev").glob("*.eml")):
        data = path.read_bytes()
        ours = header_fields(data)
        theirs = parser.parsebytes(data)
        for name in ("from", "to", "cc", "subject", "message-id", "date"):
            if theirs.get(name) is not None:  # equal up to how folding white space is kept
                assert " ".join(ours[name].split()) == " ".join(str(theirs.get(name)).split()), (path.name, name)
