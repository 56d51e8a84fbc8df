"""The scan's header screen: what it decides before any text is fetched."""

from __future__ import annotations

from assistant.mime import raw_from_bytes
from assistant.scan import _Screen
from assistant.store import Store
from sample_mail import ME, introduction, newsletter


def test_the_screen_settles_machine_mail_and_repeats_from_headers_alone(tmp_path):
    screen = _Screen(Store.open(tmp_path), "main", frozenset([ME]))
    first = [raw_from_bytes(data, "INBOX", uid) for uid, data in
             enumerate([introduction(msgid="<i@x.example>"), newsletter()], 1)]
    wanted = screen(first)
    read = screen.take(first)
    assert wanted == {1}  # only the person's mail has its text read
    assert "List-Unsubscribe" in read.verdicts[2].reasons[0] and read.verdicts[2].kind == "none"
    assert [uid for uid, _, _ in read.to_detect()] == [1]

    # A source that never asked (or a message seen again in another folder): screened on taking.
    again = [raw_from_bytes(introduction(msgid="<i@x.example>"), "Archive", 7)]
    read = screen.take(again)
    assert read.duplicates == {7} and read.to_detect() == []
