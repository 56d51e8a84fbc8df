"""The IMAP source reads the same text as the local parser, and its FETCH reader is exact."""

from __future__ import annotations

import imaplib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared_data import shared_dir

from assistant.config import ImapSettings
from assistant.imap import (
    ImapSource,
    PhaseOne,
    _top_lists,
    _usual_structure,
    parse_fetch,
    parse_phase_one,
    read_fetch,
    structure_to_parts,
    uid_set,
)
from assistant.mime import raw_from_bytes, select_text_parts
from assistant.parse import ParseError, parse


def test_uid_set_compresses_runs():
    assert uid_set([9, 1, 2, 3, 5, 7, 8]) == "1:3,5,7:9"
    assert uid_set([4]) == "4"


def test_parse_fetch_reads_literals_quotes_and_nesting():
    data = [
        (b'1 (UID 7 RFC822.SIZE 42 BODY[HEADER.FIELDS (FROM SUBJECT)] {24}', b"From: a@b.example\r\n\r\n\r\n"),
        b' BODYSTRUCTURE ("text" "plain" ("charset" "utf-8" "name" "a \\"(b)\\"") NIL NIL "base64" 10 1 NIL NIL NIL NIL))',
        b'2 (UID 9 BODYSTRUCTURE (("text" "html" NIL NIL NIL "7bit" 5 1 NIL NIL NIL NIL) "mixed"))',
    ]
    got = parse_fetch(data)
    assert set(got) == {7, 9}
    assert got[7][b"BODY[HEADER.FIELDS (FROM SUBJECT)]"].startswith(b"From: a@b.example")
    structure = got[7][b"BODYSTRUCTURE"]
    assert structure[2][3] == b'a "(b)"'
    part = structure_to_parts(structure)
    assert (part.section, part.ctype, part.charset, part.encoding) == ("1", "text/plain", "utf-8", "base64")
    mixed = structure_to_parts(got[9][b"BODYSTRUCTURE"])
    assert mixed.ctype == "multipart/mixed" and mixed.children[0].section == "1"


class _Wire:
    """The parts of an imaplib session `read_fetch` uses, over a canned server answer."""

    def __init__(self, answer: bytes):
        self.file = io.BufferedReader(io.BytesIO(answer))
        self.sent: list[bytes] = []
        self.tagged_commands: dict = {}

    def _new_tag(self) -> bytes:
        self.tagged_commands[b"T1"] = None
        return b"T1"

    def send(self, data: bytes) -> None:
        self.sent.append(data)


def test_read_fetch_reads_exactly_one_response_with_its_literals():
    answer = (b"* 1 FETCH (UID 7 BODY[1] {12}\r\nline1\r\n{3}\r\n)\r\n"
              b"* 3 EXISTS\r\n* OK [HIGHESTMODSEQ 9] (a note)\r\n"
              b"* 2 FETCH (UID 9 BODY[1] \"x\")\r\n"
              b"T1 OK Fetch completed.\r\n* 4 EXISTS\r\n")
    wire = _Wire(answer)
    status, data = read_fetch(wire, b"UID FETCH 7,9 (BODY.PEEK[1])")
    assert wire.sent == [b"T1 UID FETCH 7,9 (BODY.PEEK[1])\r\n"]
    assert status == b"OK" and wire.tagged_commands == {}
    # the literal may hold what looks like a literal marker; non-FETCH answers are left out
    assert parse_fetch(data) == {7: {b"UID": b"7", b"BODY[1]": b"line1\r\n{3}\r\n"}, 9: {b"UID": b"9", b"BODY[1]": b"x"}}
    assert wire.file.read() == b"* 4 EXISTS\r\n"  # what came after the response is left for imaplib


def test_read_fetch_reports_refusal_and_cut_connections():
    assert read_fetch(_Wire(b"T1 NO [SERVERBUG] sorry\r\n"), b"UID FETCH 1 (UID)") == (b"NO", [])
    for cut in (b"* 1 FETCH (UID 7 BODY[1] {12}\r\nline", b"* 1 FETCH (UID 7"):
        with pytest.raises(imaplib.IMAP4.abort):
            read_fetch(_Wire(cut), b"UID FETCH 7 (BODY.PEEK[1])")


def test_phase_one_fast_path_reads_as_the_general_parser_does():
    structure = b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)'
    header = b"From: a@b.example\r\n\r\n"
    common = [(b"* 1 FETCH (UID 7 RFC822.SIZE 42 BODYSTRUCTURE " + structure + b" BODY[HEADER.FIELDS (FROM)] {%d}" % len(header), header), b")"]
    # another server's order, and a file name sent as a literal inside the BODYSTRUCTURE
    odd = [(b"* 2 FETCH (BODY[HEADER.FIELDS (FROM)] {%d}" % len(header), header),
           (b' UID 9 RFC822.SIZE 50 BODYSTRUCTURE ("text" "plain" ("name" {5}', b"a)b\"c"),
           b') NIL NIL "7bit" 10 1 NIL NIL NIL NIL))']
    got = parse_phase_one(common + odd)
    general = parse_fetch(common + odd)
    assert set(got) == {7, 9}
    assert isinstance(got[7].structure, bytes)  # not parsed until asked for
    for uid in (7, 9):
        assert got[uid].header == header
        assert got[uid].size == int(general[uid][b"RFC822.SIZE"])
        assert got[uid].parts() == structure_to_parts(general[uid][b"BODYSTRUCTURE"])
    assert got[9].parts().charset == "" and got[9].parts().size == 10


# BODYSTRUCTUREs as servers write them, and as they should not: strings with parentheses,
# quotes, NIL, control characters and bad UTF-8 in them; odd numbers; missing or doubled spaces.
_STRINGS = st.sampled_from([b"text", b"plain", b"html", b"TEXT", b"multipart", b"alternative", b"message", b"rfc822",
                            b"charset", b"utf-8", b"NIL", b"", b"a (b)", b")(", b"x\\\"y", b"caf\xc3\xa9", b"\xff", b"t\x01"])
_ATOMS = st.sampled_from([b"NIL", b"0", b"12", b"0123", b"-1", b"true", b"1.5"])
_STRUCTURES = st.recursive(
    st.one_of(_STRINGS.map(lambda s: b'"' + s + b'"'), _ATOMS),
    lambda inner: st.tuples(st.lists(inner, max_size=8), st.sampled_from([b" ", b" ", b" ", b"", b"  "])).map(
        lambda t: b"(" + t[1].join(t[0]) + b")"),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_STRUCTURES)
def test_a_bodystructure_read_as_json_gives_the_parts_the_token_loop_gives(raw):
    assert PhaseOne(b"", 0, raw).parts() == structure_to_parts(next(_top_lists([raw]), None))


def test_the_usual_bodystructure_is_read_as_json():
    usual = (b'(("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 2442 43 NIL NIL NIL NIL)'
             b'("image" "png" ("name" "CV (1).png") NIL NIL "base64" 36554 NIL ("attachment" ("filename" "CV (1).png")) NIL NIL)'
             b' "mixed" ("boundary" "----=_Part_0") NIL NIL NIL)')
    assert _usual_structure(usual)[0][:3] == ["text", "plain", ["charset", "utf-8"]]
    assert PhaseOne(b"", 0, usual).parts() == structure_to_parts(next(_top_lists([usual]), None))
    assert _usual_structure(usual.replace(b"2442", b"{4}\r\n2442")) is None  # a literal: the token loop's


def test_attached_message_sections_follow_imap_numbering():
    structure = [
        [b"text", b"plain", [b"charset", b"us-ascii"], b"NIL", b"NIL", b"7bit", b"10", b"1", b"NIL", b"NIL", b"NIL", b"NIL"],
        [b"message", b"rfc822", b"NIL", b"NIL", b"NIL", b"7bit", b"300", [b"NIL"] * 10,
         [[b"text", b"plain", b"NIL", b"NIL", b"NIL", b"7bit", b"5", b"1", b"NIL", b"NIL", b"NIL", b"NIL"],
          [b"text", b"html", b"NIL", b"NIL", b"NIL", b"7bit", b"5", b"1", b"NIL", b"NIL", b"NIL", b"NIL"],
          b"alternative", b"NIL", b"NIL", b"NIL", b"NIL"],
         b"20", b"NIL", [b"attachment", b"NIL"], b"NIL", b"NIL"],
        b"mixed", b"NIL", b"NIL", b"NIL", b"NIL",
    ]
    choices = select_text_parts(structure_to_parts(structure))
    assert [(c.part.section, c.forwarded_header_section) for c in choices] == [("1", None), ("2.1", "2.HEADER")]


CPYTHON = ("public-corpora", "python__cpython", "Lib", "test", "test_email", "data")
# Malformed on purpose (no blank line after the header, bad boundaries, a boundary given
# as an RFC 2231 parameter): Dovecot and Python's parser split them differently.  Both
# must still read them without an error; only well-formed messages must read the same.
PARSERS_DISAGREE = {"msg_33.txt", "msg_35.txt", "msg_42.txt", "msg_47.txt"}


def _corpus_files():
    files = sorted(shared_dir("corpus", "dev").glob("*.eml"))
    return files + sorted(shared_dir(*CPYTHON).glob("msg_*.txt"))


def _reading(raw):
    """What detection sees of a message, or why it cannot be read."""
    try:
        mail = parse(raw)
    except ParseError as exc:
        return str(exc)
    return (mail.text, mail.sender, mail.to, mail.cc, mail.subject, mail.message_id, mail.forwarded)


@pytest.mark.server
def test_imap_and_local_parsing_agree_on_real_messages(mailbox):
    files = _corpus_files()
    uids = {mailbox.append("INBOX", path.read_bytes()): path for path in files}
    settings = ImapSettings(host=mailbox.host, port=mailbox.port_tls, ca_file=mailbox.ca_file, username=mailbox.username)
    client = mailbox.connect("tls")
    source = ImapSource(client, settings)
    try:
        fetched = [raw for batch in source.fetch_after("INBOX", 0, 40) for raw in batch]
    finally:
        source.close()
    assert len(fetched) == len(files)
    mismatches = []
    for raw in fetched:
        path = uids[raw.uid]
        via_imap, local = _reading(raw), _reading(raw_from_bytes(path.read_bytes(), "INBOX", raw.uid))
        if via_imap != local and path.name not in PARSERS_DISAGREE:
            mismatches.append(path.name)
    assert not mismatches, f"IMAP and local parse differ for {mismatches}"


@pytest.mark.parametrize("multiappend", [True, False])
def test_drafts_go_in_together_and_are_found_by_message_id(mailbox, multiappend):
    settings = ImapSettings(host=mailbox.host, port=mailbox.port_tls, ca_file=mailbox.ca_file, username=mailbox.username)
    source = ImapSource(mailbox.connect("tls"), settings)
    if not multiappend:
        source.capabilities.discard("MULTIAPPEND")  # a server without it: one APPEND a draft
    drafts = [f"From: me@b.example\r\nMessage-ID: <d{k}@b.example>\r\nSubject: {k}\r\n\r\nbody {k}\r\n".encode() for k in range(3)]
    try:
        assert source.drafts_present(["d0@b.example"]) == set()  # an empty Drafts folder
        source.append_drafts(drafts[:2])
        source.append_drafts(drafts[2:])
        assert source.drafts_present(["d0@b.example", "d2@b.example", "other@b.example"]) == {"d0@b.example", "d2@b.example"}
    finally:
        source.close()
    folder = "Drafts"
    flags = mailbox.fetch_flags(folder)
    assert len(flags) == 3 and all(b"\\Draft" in f and b"\\Seen" in f for f in flags.values())
