"""Parsing as detection needs it: decoding, HTML to text, and bad input in bounded time."""

from __future__ import annotations

import base64
import binascii
import time
from email.errors import MessageError
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import example, given, strategies as st

from assistant.detect import classify_bytes
from assistant.html import html_to_text
from assistant.mime import MAX_TEXT_BYTES, PartInfo, raw_from_bytes, select_text_parts
from assistant.mail import RawPart
from assistant.parse import ParseError, _decode_usual_words, decode_part, decode_words, parse, parse_addresses, parse_date

ME = ["dana.whitfield@example.net"]
HEAD = "From: Sam Oduya <sam@tidewater.example>\r\nTo: Dana <dana.whitfield@example.net>\r\nSubject: test\r\n"


def mail_of(data: bytes):
    return parse(raw_from_bytes(data))


def bounded(data: bytes, seconds: float = 3.0):
    """Classify `data` and check it took bounded time; returns the Detection."""
    start = time.perf_counter()
    found = classify_bytes(data, ME)
    assert time.perf_counter() - start < seconds
    assert found.kind in ("introduction", "referral", "lead", "request", "none")
    assert found.reasons and not found.reasons[0].startswith("detection failed")  # no bug hidden by the catch-all
    return found


def test_rfc2047_names_and_subjects_are_decoded():
    assert decode_words("=?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?=") == "Zoë Ångström"
    assert decode_words("=?iso-8859-1?q?Ren=E9?= Dufour") == "René Dufour"
    (person,) = parse_addresses('"=?utf-8?b?QmVja2VyLCBUb20=?=" <tbecker@acme.example>')
    assert person.name == "Becker, Tom" and person.email == "tbecker@acme.example"


def test_quoted_printable_and_base64_bodies():
    qp = (HEAD + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
          "Bj=C3=B6rn is a long line that the client wrapped with a soft line br=\r\neak.\r\n").encode()
    assert mail_of(qp).text.startswith("Björn is a long line that the client wrapped with a soft line break.")
    b64 = (HEAD + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
    b64 += base64.encodebytes("Łukasz says hi".encode())
    assert mail_of(b64).text.strip() == "Łukasz says hi"


def test_alternative_prefers_plain_text_and_html_only_is_converted():
    root = PartInfo("", "multipart/alternative", children=[PartInfo("1", "text/html"), PartInfo("2", "text/plain")])
    assert [c.part.section for c in select_text_parts(root)] == ["2"]
    html = (HEAD + "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hi&nbsp;Dana,</p><p>meet <b>Theo</b>.</p>").encode()
    mail = mail_of(html)
    assert mail.html and mail.text == "Hi Dana,\n\nmeet Theo."


def test_html_blockquotes_become_quoted_lines():
    text = html_to_text("<p>Sounds good.</p><blockquote>old<blockquote>older</blockquote></blockquote>")
    assert text.splitlines()[0] == "Sounds good."
    assert "> old" in text and "> > older" in text


def test_attached_message_is_read_as_forwarded():
    data = (HEAD + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n'
            "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: Ann <ann@x.example>\r\nTo: Bob <bob@y.example>\r\n"
            "Subject: inner\r\n\r\ninner text\r\n--b--\r\n").encode()
    mail = mail_of(data)
    assert mail.text.strip() == "see below"
    (fwd,) = mail.forwarded
    assert fwd.sender.email == "ann@x.example" and fwd.subject == "inner" and fwd.text.strip() == "inner text"


def test_no_header_is_a_parse_error_and_classify_says_why():
    with pytest.raises(ParseError):
        mail_of(b"just some text\r\nwithout headers\r\n")
    assert bounded(b"").reasons[0].startswith("unreadable message")


# --- bad input: classified or rejected within bounded time and memory, with a reason ---------


def test_broken_mime_boundaries():
    data = (HEAD + 'Content-Type: multipart/alternative; boundary="declared"\r\n\r\n--other\r\nContent-Type: text/plain\r\n\r\n'
            "Hi Dana, could you send me your resume by Friday?\r\n--other--\r\n").encode()
    bounded(data)
    missing = (HEAD + "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n").encode()
    bounded(missing)


@pytest.mark.parametrize("charset", ["", "utf-8", "x-no-such-charset", "us-ascii"])
def test_undeclared_or_wrong_charset(charset):
    declared = f"; charset={charset}" if charset else ""
    data = (HEAD + f"Content-Type: text/plain{declared}\r\n\r\n").encode() + "Café with René “soon”".encode("cp1252")
    mail = mail_of(data)
    assert "Caf" in mail.text and mail.defects
    bounded(data)


def test_twenty_megabyte_part():
    body = (b"A" * 76 + b"\r\n") * (20 * 1024 * 1024 // 78)
    data = (HEAD + "Content-Type: text/plain\r\n\r\n").encode() + body
    found = bounded(data, seconds=10.0)
    assert found.kind == "none"
    assert len(mail_of(data).text) <= MAX_TEXT_BYTES


def test_hundred_kilobyte_header():
    data = (HEAD + "X-Junk: " + "x" * 100_000 + "\r\nCc: " + ", ".join(f"p{i}@x.example" for i in range(8000))
            + "\r\n\r\nHello").encode()
    bounded(data)


def test_nested_message_rfc822_fifty_deep():
    inner = b"From: a@x.example\r\nSubject: deepest\r\n\r\nhello\r\n"
    for _ in range(50):
        inner = b"From: a@x.example\r\nSubject: fwd\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    data = (HEAD + "Content-Type: message/rfc822\r\n\r\n").encode() + inner
    bounded(data)


def test_many_parts_and_garbage_bytes():
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(5000))
    bounded((HEAD + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + "--b--\r\n").encode())
    bounded(HEAD.encode() + b"\r\n" + bytes(range(256)) * 400)


def test_thousand_nested_reply_blocks():
    body = "\r\n".join(f"From: p{i}@x.example\r\nSent: Monday\r\nTo: q@x.example\r\n\r\nreply {i}" for i in range(1000))
    bounded((HEAD + "\r\n" + body).encode())


def test_pathological_quote_structure_is_linear():
    body = ("> " * 200 + "x\r\n") * 2000 + ("On Mon wrote:\r\n" * 2000) + ("From: a\r\nSent: b\r\n" * 2000)
    bounded((HEAD + "\r\n" + body).encode())


def test_a_hostile_subject_is_read_in_bounded_time():
    # "a/a/a/..." once made the subject's "A <> B intro" pattern try every pair of slashes.
    body = "Dana, meet Tom Becker, who leads data at Acme. Tom, meet Dana.\r\n"
    data = (HEAD.replace("Subject: test", "Subject: " + "a/" * 8000)
            + "Cc: Tom Becker <tbecker@acme.example>\r\n\r\n" + body).encode()
    assert bounded(data, seconds=1.0).kind == "introduction"


def test_a_crowd_of_contacts_is_a_group_mail_not_forty_tasks():
    names = [f"Dana{chr(65 + i % 26)} Smith{i}" for i in range(40)]
    cc = ", ".join(f"{name} <dana{i}@corp{i}.example>" for i, name in enumerate(names))
    data = (HEAD.replace("Subject: test", "Subject: Intro: Dana <> everyone") + f"Cc: {cc}\r\n\r\n"
            + f"Hi all, I'd like to introduce you to {', '.join(names)}. You should all talk.\r\n").encode()
    found = bounded(data)
    assert found.kind == "none" and "group mail" in found.reasons[0]


@pytest.mark.parametrize("value", [
    "Tue, 4 Mar 2025 10:00:00 +0100", "4 Mar 2025 10:00 -0530", "Tue, 04 Mar 2025 10:00:00 -0000",
    "Tue, 4 Mar 2025 10:00:00 +0000 (UTC)", "Mon, 31 Feb 2025 10:00:00 +0000", "Tue, 4 Xyz 2025 10:00:00 +0100",
    "Tue, 4 Mar 2025 10:00:00 GMT", "Tue, 4 Mar 25 10:00:00 +0100", "Tue, 4 Mar 2025 25:00:00 +0100",
    "Tue, 4 Mar 2025 10:00:00 +9959", "Tue,  4 Mar 2025 10:00:00 +0160", "",
])
def test_the_quick_date_reader_agrees_with_the_email_package(value):
    def reading(parser):
        try:
            found = parser(value)
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            return type(exc)
        return found, found.utcoffset()

    assert reading(parse_date) == reading(parsedate_to_datetime)


def test_a_hostile_encoded_word_is_kept_undecoded():
    # Bad base64 and a charset name that is not ASCII once raised out of parse_header.
    assert decode_words("=?utf-8?b?a?= x") == "=?utf-8?b?a?= x"
    assert decode_words("=?\u00e9?q?x?=") == "=?\u00e9?q?x?="


@pytest.mark.parametrize("value", [
    "=?utf-8?b?Q2Fmw6kgU29jacOpdMOp?=", "=?UTF-8?Q?Jos=C3=A9_Haddad?=", "Re: =?utf-8?q?Ren=C3=A9?= (sales)",
    "=?utf-8?q?Zo=C3=AB?= =?utf-8?q?_=C3=85ngstr=C3=B6m?=", "=?iso-8859-1?q?Ren=E9?= Dufour",
])
def test_usual_encoded_words_are_read_without_the_email_package(value):
    assert _decode_usual_words(value) == str(make_header(decode_header(value)))


_encoded_text = st.one_of(
    st.text(max_size=8).map(lambda t: base64.b64encode(t.encode()).decode().rstrip("=")),
    st.binary(max_size=6).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=6).map(lambda b: "".join(f"={c:02X}" if c > 126 or c in b"?=_ " else chr(c) for c in b)),
    st.text(alphabet="=_?Aa0+/ ", max_size=6),
)
_encoded_word = st.builds("=?{}?{}?{}?=".format,
                          st.one_of(st.just("utf-8"), st.sampled_from(["UTF-8", "iso-8859-1", "windows-1252", "us-ascii",
                                                                        "utf8", "", "x-no", "utf-8*en", "\u00e9"])),
                          st.sampled_from("qQbB"), _encoded_text)
_plain_text = st.text(alphabet=" ()\\\"<>,aZ=?_", max_size=5)
# Text the quick decoder leaves to the email package: not ASCII, or a line break or control character.
_odd_text = st.one_of(st.just(""), st.sampled_from(["\u00e9", "\t", "\r\n ", "\n", "\x00", "\x85", "\u2028"]))


@given(st.lists(st.one_of(_encoded_word, _plain_text), min_size=1, max_size=6), _odd_text, st.integers(0, 6))
@example(["=?utf-8?q?a?=", "=?utf-8?q? ?=", "=?utf-8?q?b?="], "", 0)  # email.header drops the word of white space
@example(["=?utf-8?q?a==41?="], "", 0)  # "==" and a last "=": binascii reads them otherwise
@example(["=?utf-8?q?b=?="], "", 0)
def test_the_quick_word_decoder_agrees_with_the_email_package(pieces, odd, where):
    pieces.insert(where, odd)
    value = "".join(pieces)
    try:
        expected = str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, binascii.Error, MessageError):
        expected = None  # decode_words keeps the text undecoded: the quick reader must leave it to it
    quick = _decode_usual_words(value)
    assert quick is None or quick == expected
    assert isinstance(decode_words(value), str)


@given(st.text(max_size=300), st.sampled_from([b"\r\n", b"\n", b" \r\n", b"\r\n-- \r\n", b"!"]), st.booleans())
def test_a_base64_part_reads_through_line_breaks_junk_and_missing_padding(text, junk, cut_padding):
    encoded = base64.b64encode(text.encode())
    lines = [encoded[k : k + 76] for k in range(0, len(encoded), 76)] or [b""]
    body = junk.join(lines) + b"\r\n"
    if cut_padding:
        body = body.replace(b"=", b"")
    decoded, defects = decode_part(RawPart(body=body, charset="utf-8", encoding="base64"))
    assert decoded == text.replace("\r\n", "\n").replace("\r", "\n") and defects == []
