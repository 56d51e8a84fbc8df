"""Tasks in the store: keys, views, the lifecycle, follow-up after the outreach, migrations."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assistant import followup, tasks
from assistant.config import ScheduleSettings
from assistant.errors import NotFoundError
from assistant.mail import Detection, Person, Request
from assistant.rules import TaskSpec
from assistant.store import Store

from test_rules import DANA, PRIYA, TOM, TUESDAY, intro, make_mail

BERLIN = ZoneInfo("Europe/Berlin")
S = ScheduleSettings(timezone="Europe/Berlin")  # nudge after 5 working days, 2 nudges


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "state")
    yield opened
    opened.close()


def spec(kind: str, to: Person | None, about: Person | None = None, due: datetime = TUESDAY, template: str | None = None):
    return TaskSpec(kind, to, f"{kind} {to.name if to else ''}", due, "test", template, 1, about)


def open_intro(store, message_id="m1@test.example", contacts=(DANA,)) -> dict[str, int]:
    """An introduction's tasks, as the built-in rules open them; {kind/email: id}."""
    specs = [spec("reach_out", c, c, template="reach_out_intro") for c in contacts]
    specs.append(spec("thank", PRIYA, contacts[0], template="thank"))
    with store.transaction():
        ids = tasks.open_tasks(store.conn, "main", make_mail(message_id=message_id), intro(*contacts), specs, TUESDAY)
    return {f"{s.kind}/{s.person.email}": i for s, i in zip(specs, ids)}


# --- opening and reading --------------------------------------------------------------------------


def test_the_same_message_never_opens_the_same_task_twice(store):
    first = open_intro(store)
    assert len(first) == 2
    with store.transaction():
        again = tasks.open_tasks(store.conn, "main", make_mail(), intro(),
                                 [spec("reach_out", DANA, DANA), spec("thank", PRIYA, DANA)], TUESDAY)
    assert again == []
    # Even once done, a task is not opened again.
    with store.transaction():
        tasks.mark_done(store.conn, first["reach_out/dana@acme.example"], "by_hand", TUESDAY)
        assert tasks.open_tasks(store.conn, "main", make_mail(), intro(), [spec("reach_out", DANA, DANA)], TUESDAY) == []
    assert store.conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 2


def test_a_view_names_the_contact_the_referrer_and_whom_it_writes_to(store):
    ids = open_intro(store, contacts=(DANA, TOM))
    thank = tasks.get_task(store.conn, ids["thank/priya@northwind.example"])
    assert thank.to == PRIYA and thank.referrer == PRIYA and thank.contact == DANA
    assert thank.contacts == (DANA, TOM)
    reach = tasks.get_task(store.conn, ids["reach_out/tom@acme.example"]).as_dict()
    assert reach["contact"] == {"name": "Tom Becker", "email": "tom@acme.example"}
    assert reach["referrer"] == {"name": "Priya Natarajan", "email": "priya@northwind.example"}
    assert reach["to"] == reach["contact"] and reach["status"] == "open" and reach["message_id"] == "m1@test.example"
    assert {"id", "kind", "status", "due", "contact", "referrer", "message_id"} <= set(reach)


def test_filters(store):
    open_intro(store, "a@x", contacts=(DANA,))
    open_intro(store, "b@x", contacts=(TOM,))
    assert {t.kind for t in tasks.get_tasks(store.conn, kinds=("thank",))} == {"thank"}
    assert [t.contact for t in tasks.get_tasks(store.conn, contact="tom@")] == [TOM, TOM]  # his reach_out and the thank about him
    assert [t.kind for t in tasks.get_tasks(store.conn, contact="Becker", kinds=("reach_out",))] == ["reach_out"]
    assert tasks.get_tasks(store.conn, ids=[]) == []


def test_a_contact_is_one_person_across_names_and_addresses(store):
    conn = store.conn
    with store.transaction():
        a = tasks.contact_id(conn, Person("Dana Whitfield", "Dana@Acme.example"), TUESDAY)
        b = tasks.contact_id(conn, Person("D. Whitfield", "dana@acme.example"), TUESDAY)
        c = tasks.contact_id(conn, Person("Camila Reyes", None), TUESDAY)
        d = tasks.contact_id(conn, Person("Camila Reyes", None), TUESDAY)
    assert a == b and c == d and a != c
    names = {r[0] for r in conn.execute("SELECT name FROM contact_names WHERE contact_id=?", (a,))}
    assert names == {"Dana Whitfield", "D. Whitfield"}
    with store.transaction():
        # A referral named Camila without an address; later she writes: the same person.
        assert tasks.contact_id(conn, Person("Camila Reyes", "camila@granite.example"), TUESDAY) == c
        # The same full name at the same domain: another address of Dana's.
        assert tasks.contact_id(conn, Person("Dana Whitfield", "d.whitfield@acme.example"), TUESDAY) == a
        # The same name elsewhere, or a first name only, is not enough.
        assert tasks.contact_id(conn, Person("Dana Whitfield", "dana@other.example"), TUESDAY) != a
        assert tasks.contact_id(conn, Person("Camila", "camila@other.example"), TUESDAY) != c
        sam = tasks.contact_id(conn, Person("Sam Ortiz", "sam1@gmail.com"), TUESDAY)
        assert tasks.contact_id(conn, Person("Sam Ortiz", "sam2@gmail.com"), TUESDAY) != sam
    addresses = {r[0] for r in conn.execute("SELECT email FROM contact_addresses WHERE contact_id=?", (a,))}
    assert addresses == {"dana@acme.example", "d.whitfield@acme.example"}


def test_a_task_writes_to_the_address_the_message_gave(store):
    with store.transaction():
        tasks.contact_id(store.conn, Person("Dana Whitfield", "dana@acme.example"), TUESDAY)
    other = Person("Dana Whitfield", "d.whitfield@acme.example")  # the same person, another address
    ids = open_intro(store, contacts=(other,))
    reach = tasks.get_task(store.conn, ids["reach_out/d.whitfield@acme.example"])
    assert reach.to == other and reach.contact == other
    with store.transaction():
        nudge = followup.on_sent(store.conn, reach.id, TUESDAY, S)
    assert tasks.get_task(store.conn, nudge).to == other
    assert tasks.get_task(store.conn, ids["thank/priya@northwind.example"]).contact.name == "Dana Whitfield"


def test_a_request_in_the_thread_of_a_lead_is_a_step_of_that_lead(store):
    open_intro(store)
    ask = replace(make_mail(sender=DANA, message_id="r1@test.example", subject="Re: Intro"), in_reply_to="m1@test.example")
    detection = Detection(kind="request", referrer=DANA, requests=[Request("send your resume")], confidence=0.8)
    with store.transaction():
        task_id, = tasks.open_tasks(store.conn, "main", ask, detection, [spec("do_request", DANA)], TUESDAY)
    task = tasks.get_task(store.conn, task_id)
    intro_lead = store.conn.execute("SELECT id FROM leads WHERE message_id='m1@test.example'").fetchone()[0]
    assert task.lead_id == intro_lead and task.message_id == "r1@test.example"
    assert (task.to, task.contact, task.referrer) == (DANA, DANA, PRIYA)
    # Unrelated mail starts its own lead.
    with store.transaction():
        other, = tasks.open_tasks(store.conn, "main", make_mail(sender=TOM, message_id="r2@test.example"),
                                  Detection(kind="request", referrer=TOM, confidence=0.8), [spec("do_request", TOM)], TUESDAY)
    assert tasks.get_task(store.conn, other).lead_id != intro_lead


# --- the lifecycle --------------------------------------------------------------------------------------


def test_done_snooze_dismiss_and_their_history(store):
    ids = open_intro(store, contacts=(DANA, TOM))
    reach_dana, reach_tom, thank = ids["reach_out/dana@acme.example"], ids["reach_out/tom@acme.example"], ids["thank/priya@northwind.example"]
    t1, t2, t3 = (TUESDAY + timedelta(hours=h) for h in (1, 2, 3))
    with store.transaction():
        assert tasks.mark_done(store.conn, thank, "by_hand", t1)
        assert not tasks.mark_done(store.conn, thank, "sent", t2)  # done once is enough
        tasks.snooze(store.conn, reach_dana, TUESDAY + timedelta(days=1), t1)
        tasks.dismiss(store.conn, reach_tom, "met him at a meetup instead", t2)
    by_id = {t.id: t for t in tasks.get_tasks(store.conn, statuses=())}
    assert by_id[thank].status == "done" and by_id[thank].done_how == "by_hand"
    assert by_id[reach_dana].status == "snoozed" and by_id[reach_dana].snoozed_until == TUESDAY + timedelta(days=1)
    assert by_id[reach_tom].dismissed_reason == "met him at a meetup instead"
    assert [t.id for t in tasks.get_tasks(store.conn)] == []  # nothing open
    # The snooze ends by itself.
    with store.transaction():
        assert tasks.wake(store.conn, t3) == []
        assert tasks.wake(store.conn, TUESDAY + timedelta(days=1)) == [reach_dana]
    assert tasks.get_task(store.conn, reach_dana).status == "open"
    assert [(s, n) for _, s, n in tasks.history(store.conn, reach_dana)] == [
        ("open", "opened by test"), ("snoozed", "until 2026-11-25T09:15:00+00:00"), ("open", "snooze ended")]
    assert [s for _, s, _ in tasks.history(store.conn, thank)] == ["open", "done"]


def test_changes_that_do_not_apply_are_refused(store):
    ids = open_intro(store)
    thank = ids["thank/priya@northwind.example"]
    with store.transaction():
        tasks.mark_done(store.conn, thank, "sent", TUESDAY)
    with pytest.raises(tasks.TaskStateError, match="is done"):
        tasks.snooze(store.conn, thank, TUESDAY + timedelta(days=1), TUESDAY)
    with pytest.raises(tasks.TaskStateError, match="is done"):
        tasks.dismiss(store.conn, thank, "no", TUESDAY)
    with pytest.raises(tasks.TaskStateError, match="not in the future"):
        tasks.snooze(store.conn, ids["reach_out/dana@acme.example"], TUESDAY, TUESDAY)
    with pytest.raises(NotFoundError):
        tasks.mark_done(store.conn, 999, "by_hand", TUESDAY)
    with pytest.raises(ValueError, match="how must be"):
        tasks.mark_done(store.conn, thank, "magic", TUESDAY)


# --- after the outreach: nudges, replies, cold, report-back ---------------------------------------------------


def lead_of(store, task_id) -> int:
    return tasks.get_task(store.conn, task_id).lead_id


def test_sent_outreach_schedules_a_nudge_and_replies_close_it(store):
    ids = open_intro(store)
    reach = ids["reach_out/dana@acme.example"]
    sent = datetime(2026, 11, 24, 14, 0, tzinfo=BERLIN)
    with store.transaction():
        nudge = followup.on_sent(store.conn, reach, sent, S)
    task = tasks.get_task(store.conn, reach)
    assert task.status == "done" and task.done_how == "sent"
    n = tasks.get_task(store.conn, nudge)
    assert (n.kind, n.step, n.to, n.contact, n.template) == ("nudge", 1, DANA, DANA, "nudge")
    assert n.due == datetime(2026, 12, 1, 14, 0, tzinfo=BERLIN)  # 5 working days later
    assert store.conn.execute("SELECT last_contacted FROM contacts c JOIN contact_addresses a ON a.contact_id=c.id"
                              " WHERE a.email='dana@acme.example'").fetchone()[0] == "2026-11-24T13:00:00+00:00"
    # Dana replies: the nudge is done by her reply, and Priya gets a report-back.
    replied = datetime(2026, 11, 26, 9, 30, tzinfo=BERLIN)
    with store.transaction():
        opened = followup.on_contact_replied(store.conn, n.lead_id, DANA, replied, S)
        assert followup.on_contact_replied(store.conn, n.lead_id, DANA, replied, S) == []  # once
    assert tasks.get_task(store.conn, nudge).done_how == "by_reply"
    report, = tasks.get_tasks(store.conn, opened)
    assert (report.kind, report.to, report.contact, report.template) == ("report_back", PRIYA, DANA, "report_back")
    assert report.title == "Report back to Priya Natarajan: Dana Whitfield replied"
    assert report.due == datetime(2026, 11, 26, 12, 30, tzinfo=BERLIN)
    assert store.conn.execute("SELECT state FROM leads WHERE id=?", (n.lead_id,)).fetchone()[0] == "replied"


def test_two_unanswered_nudges_make_the_lead_cold_and_the_referrer_hears_anyway(store):
    reach = open_intro(store)["reach_out/dana@acme.example"]
    lead = lead_of(store, reach)
    day = lambda d, h=10: datetime(2026, 11, d, h, 0, tzinfo=BERLIN) if d <= 30 else datetime(2026, 12, d - 30, h, 0, tzinfo=BERLIN)  # noqa: E731
    with store.transaction():
        nudge1 = followup.on_sent(store.conn, reach, day(24), S)
        nudge2 = followup.on_sent(store.conn, nudge1, day(31), S)  # Dec 1
        assert tasks.get_task(store.conn, nudge2).step == 2
        assert tasks.get_task(store.conn, nudge2).due == day(38)  # Dec 8
        assert followup.on_sent(store.conn, nudge2, day(38), S) is None  # no third nudge
    # Still within the wait after the last nudge: nothing happens.
    with store.transaction():
        assert followup.tick(store.conn, day(44, 9), S) == []  # Dec 14 9:00, a Monday
    assert store.conn.execute("SELECT state FROM lead_contacts WHERE lead_id=?", (lead,)).fetchone()[0] == "contacted"
    # Five working days after the last nudge: cold, and the report-back opens.
    with store.transaction():
        opened = followup.tick(store.conn, day(45), S)  # Dec 15 10:00
        assert followup.tick(store.conn, day(46), S) == []  # once
    report, = tasks.get_tasks(store.conn, opened)
    assert (report.kind, report.to, report.contact) == ("report_back", PRIYA, DANA)
    assert report.title == "Report back to Priya Natarajan: Dana Whitfield did not reply"
    assert store.conn.execute("SELECT state FROM leads WHERE id=?", (lead,)).fetchone()[0] == "cold"
    states = [r[0] for r in store.conn.execute("SELECT state FROM lead_events WHERE lead_id=? AND contact_id IS NOT NULL"
                                                " ORDER BY id", (lead,))]
    assert states == ["contacted", "contacted", "contacted", "cold"]
    # A late reply still reaches the referrer: a second, good-news report-back.
    with store.transaction():
        late = followup.on_contact_replied(store.conn, lead, DANA, day(47), S)
    assert len(late) == 1 and tasks.get_task(store.conn, late[0]).title.endswith("replied")


def test_max_nudges_zero_goes_cold_straight_after_the_outreach(store):
    s = ScheduleSettings(timezone="Europe/Berlin", max_nudges=0, nudge_after_days=2)
    reach = open_intro(store)["reach_out/dana@acme.example"]
    with store.transaction():
        assert followup.on_sent(store.conn, reach, TUESDAY, s) is None
        assert followup.tick(store.conn, TUESDAY + timedelta(days=1), s) == []
        assert len(followup.tick(store.conn, TUESDAY + timedelta(days=2), s)) == 1


def test_a_reply_before_the_outreach_closes_it(store):
    reach = open_intro(store)["reach_out/dana@acme.example"]
    with store.transaction():
        followup.on_contact_replied(store.conn, lead_of(store, reach), DANA, TUESDAY, S)
    assert tasks.get_task(store.conn, reach).done_how == "by_reply"


def test_tick_wakes_snoozed_tasks(store):
    thank = open_intro(store)["thank/priya@northwind.example"]
    with store.transaction():
        tasks.snooze(store.conn, thank, TUESDAY + timedelta(hours=2), TUESDAY)
        assert followup.tick(store.conn, TUESDAY + timedelta(hours=3), S) == [thank]


# --- the migration ---------------------------------------------------------------------------------------


def test_migration_0002_fills_in_whom_old_tasks_are_about(tmp_path):
    """A store written before 0002 (thank tasks then pointed at the referrer) keeps working."""
    from importlib import resources

    path = tmp_path / "assistant.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(resources.files("assistant").joinpath("migrations/0001_initial.sql").read_text())
    conn.executescript("""
        CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
        INSERT INTO schema_migrations VALUES (1, 'initial', '2026-11-01');
        INSERT INTO contacts (id, name, created_at) VALUES (1, 'Priya', 'x'), (2, 'Dana', 'x');
        INSERT INTO contact_addresses VALUES ('priya@northwind.example', 1), ('dana@acme.example', 2);
        INSERT INTO leads (id, account, message_id, kind, referrer_id, created_at) VALUES (1, 'main', 'm', 'introduction', 1, 'x');
        INSERT INTO lead_contacts VALUES (1, 2);
        INSERT INTO tasks (id, key, account, lead_id, kind, contact_id, title, due, rule, message_id, created_at, updated_at)
        VALUES (1, 'k1', 'main', 1, 'reach_out', 2, 'Reach out', '2026-11-24T16:30:00+00:00', 'r', 'm', 'x', 'x'),
               (2, 'k2', 'main', 1, 'thank', 1, 'Thank', '2026-11-24T12:00:00+00:00', 'r', 'm', 'x', 'x');
    """)
    conn.commit()
    conn.close()
    store = Store.open(tmp_path)
    try:
        views = {t.kind: t for t in tasks.get_tasks(store.conn)}
        assert views["thank"].contact.name == "Dana" and views["thank"].to.name == "Priya"
        assert views["reach_out"].contact.name == "Dana" and views["reach_out"].to.name == "Dana"
        assert 2 in {r[0] for r in store.conn.execute("SELECT version FROM schema_migrations")}
    finally:
        store.close()


def test_finding_a_contact_by_name_reads_an_index_not_every_contact(store):
    """A first scan looks up a contact for each person in each lead: a lookup that read
    every contact (and every address for each) made a large first scan quadratic."""
    plan = " ".join(row[3] for row in store.conn.execute(
        f"EXPLAIN QUERY PLAN {tasks._NAMED} AND NOT EXISTS (SELECT 1 FROM contact_addresses a WHERE a.contact_id=c.id)",
        ("Dana Kim", "Dana Kim")))
    assert "USING INDEX contacts_name" in plan and "USING INDEX contact_names_name" in plan
    assert "contact_addresses_contact" in plan and "SCAN" not in plan
