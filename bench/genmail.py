"""Deterministic generator of a realistic mailbox for the benchmarks.

    python bench/genmail.py --count 10000 --seed 20260301 --maildir /tmp/box [--labels labels.jsonl]
    python bench/genmail.py --count 20 --eml-dir /tmp/eml     # one .eml per message

    from genmail import generate, write_maildir
    for kind, data in generate(10_000, seed=1): ...        # (kind, bytes)

The same (count, seed) always gives byte-identical messages (dates are fixed, not
"now").  Messages are LF-terminated, as in a Maildir; pass crlf=True for APPEND.
The mailbox belongs to Jordan Rivera <jordan.rivera@example.com>.

Mix (by count): newsletters with List-Unsubscribe (HTML-only or multipart/alternative),
receipts (some with a PDF), job alerts, notifications, reply chains with quoted text,
work threads, messages with attachments (base64 PDFs and images of random bytes), a
few large ones (1-3 MB), and ~3% introductions, referrals, leads and requests in
varied phrasing.  Sizes run from 1 KB to 200 KB.  Bodies use utf-8, iso-8859-1 and
windows-1252 in 7bit/8bit, quoted-printable and base64; display names and subjects use
RFC 2047 encoded-words when they are not ASCII.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import quopri
import random
import sys
import time
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path

USER_NAME = "Jordan Rivera"
USER_EMAIL = "jordan.rivera@example.com"
USER = formataddr((USER_NAME, USER_EMAIL))
START = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)

FIRST = [
    "Dana", "Sam", "Alex", "Priya", "Miguel", "Chen", "Olivia", "Noah", "Fatima", "Liam",
    "Emma", "Kwame", "Sofia", "Mateo", "Aisha", "Lucas", "Hannah", "Ravi", "Grace", "Tomás",
    "José", "Zoë", "Björn", "Łukasz", "Chloé", "Søren", "Renée", "Andrés", "Müge", "François",
    "Nadia", "Kenji", "Amara", "Elena", "Marcus", "Ingrid", "Yusuf", "Leila", "Owen", "Maya",
]
LAST = [
    "Smith", "Nguyen", "Patel", "Garcia", "Kim", "Okafor", "Johnson", "Rossi", "Cohen", "Silva",
    "Müller", "Núñez", "Ångström", "Dvořák", "Lefèvre", "O'Brien", "Yamamoto", "Haddad", "Brown",
    "Schmidt", "Kowalski", "Andersen", "Moreau", "Ivanova", "Mensah", "Chen", "Walker", "Díaz",
]
COMPANIES = [
    ("Acme", "acme.example"), ("Globex", "globex.example"), ("Initech", "initech.example"),
    ("Umbrella Labs", "umbrella.example"), ("Hooli", "hooli.example"), ("Vandelay", "vandelay.example"),
    ("Kestrel", "kestrel.example"), ("Northwind", "northwind.example"), ("Stark Data", "starkdata.example"),
    ("Bluebird Health", "bluebird.example"), ("Pinecone Ventures", "pinecone.example"),
    ("Orbital Analytics", "orbital.example"), ("Lumen & Co", "lumen.example"),
]
ROLES = [
    "leads data", "runs engineering", "heads partnerships", "is VP of Product", "runs the platform team",
    "is a recruiter", "founded the company", "leads growth", "manages the analytics group",
    "heads design", "runs sales for EMEA", "is the CTO",
]
NEWSLETTERS = [
    ("The Weekly Stack", "news@weeklystack.example"), ("Data Digest", "digest@datadigest.example"),
    ("Morning Brew-ish", "hello@morningish.example"), ("Product Notes", "notes@productnotes.example"),
    ("Café Société", "lettre@cafesociete.example"), ("Design Monthly", "monthly@designmag.example"),
]
SHOPS = [
    ("Paperback Place", "orders@paperbackplace.example"), ("CloudCo Billing", "billing@cloudco.example"),
    ("Rail Europa", "tickets@raileuropa.example"), ("Café Bonjour", "recu@cafebonjour.example"),
    ("Gadget Hut", "receipts@gadgethut.example"),
]
JOB_BOARDS = [
    ("JobBoard Alerts", "alerts@jobboard.example"), ("Hired-ish", "jobs@hiredish.example"),
    ("TalentHub", "noreply@talenthub.example"),
]
NOTIFIERS = [
    ("GitHub-ish", "notifications@codehost.example"), ("Calendar", "calendar-notification@calendar.example"),
    ("Bank Alerts", "alerts@bank.example"), ("Slackish", "feedback@chat.example"),
    ("Security", "no-reply@accounts.example"),
]

WORDS = (
    "the team project roadmap quarter data pipeline customer launch budget review meeting "
    "schedule proposal design metrics dashboard report update feedback timeline deadline "
    "onboarding hiring strategy analysis migration release version feature request support "
    "contract invoice pricing partner workshop conference travel agenda notes draft slides "
    "question follow next week today tomorrow Monday Friday please thanks great sounds good "
    "let me know happy to help looking forward we should could would maybe plan move ahead "
    "sync call quick chat coffee lunch office remote server cluster deploy latency costs "
    "experiment results users growth retention churn funnel signup trial enterprise"
).split()
ACCENTED = "café naïve résumé déjà façade Zürich Málaga São Paulo crème brûlée über coöperate".split()

INTRO_TEMPLATES = [
    (
        "intro",
        "Introduction: {you_first} <> {their_first}",
        "Hi {you_first},\n\nI'd like to introduce you to {their_name} ({their_email}), who {role} at "
        "{company}. {their_first} is working on {topic} and I thought you two should talk.\n\n"
        "{their_first}, {you_first} is the person I mentioned who knows {topic} inside out.\n\n"
        "I'll let you take it from here.\n\nBest,\n{sender_first}\n",
    ),
    (
        "intro",
        "{you_first}, meet {their_first}",
        "{you_first}, meet {their_first}. {their_first}, meet {you_first}.\n\n{their_first} {role} at {company} "
        "and is thinking about {topic}. {you_first} did something very similar last year.\n\n"
        "Moving myself to bcc.\n\n{sender_first}\n",
    ),
    (
        "referral",
        "Someone you should talk to",
        "Hey {you_first},\n\nYou asked about {topic} -- you should reach out to {their_name} at "
        "{their_email}. {she} {role} at {company}. Tell {her} I sent you.\n\nCheers,\n{sender_first}\n",
    ),
    (
        "referral",
        "Re: {topic}",
        "Hi {you_first},\n\nNot my area, but {their_first} {their_last} ({their_email}) at {company} would know. "
        "Drop {her} a note and mention my name -- {she}'s expecting to hear from you.\n\n{sender_first}\n",
    ),
    (
        "lead",
        "Help with {topic}?",
        "Hello {you_first},\n\nI'm {sender_name}, I {role} at {company}. We're looking for someone to help "
        "us with {topic} over the next quarter and a colleague recommended you.\n\nWould you have 30 minutes "
        "next week for a call? Happy to work around your schedule.\n\nThanks,\n{sender_name}\n{company}\n",
    ),
    (
        "lead",
        "Possible project: {topic}",
        "Hi {you_first} -- {their_name} suggested I get in touch. We have a budget for a short engagement on "
        "{topic} starting next month. Are you taking on new clients? If so, what would be the best way to "
        "get a proposal from you?\n\nBest regards,\n{sender_name}\n",
    ),
    (
        "request",
        "Your resume",
        "Hi {you_first},\n\nGreat talking earlier. Could you send me your resume by Friday? I'd like to "
        "forward it to the hiring manager at {company} before their offsite.\n\nThanks!\n{sender_first}\n",
    ),
    (
        "request",
        "Quick favor",
        "{you_first},\n\nWhen you get a chance, can you review the deck on {topic} and send me your comments "
        "by Tuesday? Nothing fancy -- a few bullet points is plenty.\n\nAppreciate it,\n{sender_first}\n",
    ),
    (
        "request",
        "Re: next steps",
        "Hi {you_first},\n\nFollowing up on our chat: please send over the signed NDA and a couple of "
        "references when you can, ideally before the end of the month.\n\nKind regards,\n{sender_name}\n",
    ),
]
TOPICS = [
    "the data platform migration", "pricing experiments", "the hiring plan", "a Series A pitch",
    "the analytics dashboard", "customer onboarding", "the EU expansion", "ML model monitoring",
    "the conference talk", "the partnership program",
]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.sentences = [self._sentence() for _ in range(600)]

    # -- small pieces

    def _sentence(self) -> str:
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
        if rng.random() < 0.15:
            words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
        s = " ".join(words)
        return s[0].upper() + s[1:] + rng.choice([".", ".", ".", "?", "!"])

    def paragraph(self, n: int | None = None) -> str:
        rng = self.rng
        return " ".join(rng.choice(self.sentences) for _ in range(n or rng.randint(2, 6)))

    def text(self, approx: int) -> str:
        out, size = [], 0
        while size < approx:
            p = _wrap(self.paragraph())
            out.append(p)
            size += len(p) + 2
        return "\n\n".join(out)

    def person(self) -> tuple[str, str, str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company, domain = rng.choice(COMPANIES)
        local = _ascii(first).lower() + "." + _ascii(last).lower().replace("'", "")
        return f"{first} {last}", f"{local}@{domain}", company, first

    def date(self, i: int, n: int) -> datetime:
        # spread over ~300 days, in order, with jitter; fixed offsets so output is stable
        base = START + timedelta(seconds=int(i * (300 * 86400 / max(n, 1))))
        tz = timezone(timedelta(hours=self.rng.choice([-8, -7, -5, -4, 0, 1, 2, 5, 9])))
        return (base + timedelta(seconds=self.rng.randint(0, 3600))).astimezone(tz)

    def msgid(self, i: int, domain: str) -> str:
        return f"<{self.seed:x}.{i}.{self.rng.getrandbits(40):010x}@{domain}>"

    def size_target(self) -> int:
        """Mostly 1-60 KB, a tail to 200 KB."""
        rng = self.rng
        v = int(rng.lognormvariate(9.3, 1.0))  # median ~11 KB
        return max(1000, min(v, 200_000))


def _ascii(s: str) -> str:
    s = s.translate(_SPECIAL)
    return "".join(c for c in unicodedata.normalize("NFKD", s) if ord(c) < 128)


_SPECIAL = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "đ": "d"})


def _wrap(text: str, width: int = 72) -> str:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def _addr(name: str, email: str) -> str:
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        return formataddr((name, email), charset="utf-8")
    return formataddr((name, email))


def _subject(s: str) -> str:
    try:
        s.encode("ascii")
    except UnicodeEncodeError:
        return Header(s, "utf-8", maxlinelen=76).encode()
    return s


# body encodings ----------------------------------------------------------------


def _encode_text(text: str, subtype: str, charset: str, cte: str) -> tuple[str, bytes]:
    """(headers, body bytes) of one text part."""
    raw = text.encode(charset, errors="replace")
    if cte == "base64":
        body = base64.encodebytes(raw)
    elif cte == "quoted-printable":
        body = quopri.encodestring(raw)
    else:
        try:
            raw.decode("ascii")
            cte = "7bit"
        except UnicodeDecodeError:
            cte = "8bit"
        body = raw
    if not body.endswith(b"\n"):
        body += b"\n"
    headers = f"Content-Type: text/{subtype}; charset=\"{charset}\"\nContent-Transfer-Encoding: {cte}\n"
    return headers, body


def _attachment(rng: random.Random, kind: str, size: int, name: str) -> tuple[str, bytes]:
    if kind == "pdf":
        raw = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(size) + b"\n%%EOF\n"
        ctype = "application/pdf"
    elif kind == "png":
        raw = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)
        ctype = "image/png"
    else:
        raw = b"\xff\xd8\xff\xe0" + rng.randbytes(size)
        ctype = "image/jpeg"
    try:
        name.encode("ascii")
        disp_name = f'filename="{name}"'
    except UnicodeEncodeError:
        from urllib.parse import quote

        disp_name = f"filename*=utf-8''{quote(name)}"
    headers = (
        f"Content-Type: {ctype}; name=\"{_ascii(name)}\"\nContent-Transfer-Encoding: base64\n"
        f"Content-Disposition: attachment; {disp_name}\n"
    )
    return headers, base64.encodebytes(raw)


def _multipart(subtype: str, parts: list[tuple[str, bytes]], boundary: str) -> tuple[str, bytes]:
    chunks = []
    for headers, body in parts:
        chunks.append(f"--{boundary}\n{headers}\n".encode("ascii") + body)
    chunks.append(f"--{boundary}--\n".encode("ascii"))
    return f'Content-Type: multipart/{subtype};\n boundary="{boundary}"\n', b"\n".join(chunks)


def _html_from_text(title: str, text: str, rng: random.Random, heavy: bool) -> str:
    paras = "".join(f"<p style=\"margin:0 0 12px 0;font-size:15px;line-height:22px\">{p}</p>\n" for p in text.split("\n\n"))
    style = ""
    if heavy:  # newsletter-ish: css, tables, tracking pixels, many links
        style = "<style type=\"text/css\">\n" + "\n".join(
            f".c{k}{{margin:0;padding:{k % 9}px;color:#{rng.getrandbits(24):06x};font-family:Helvetica,Arial,sans-serif}}"
            for k in range(rng.randint(20, 80))
        ) + "</style>"
        links = "".join(
            f"<tr><td class=\"c{k}\"><a href=\"https://links.example/c/{rng.getrandbits(64):016x}\">Read more &rarr;</a></td></tr>\n"
            for k in range(rng.randint(5, 25))
        )
        paras = f"<table role=\"presentation\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\">\n{links}</table>\n" + paras
        paras += f"<img src=\"https://t.example/o/{rng.getrandbits(64):016x}.gif\" width=\"1\" height=\"1\" alt=\"\">"
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title>" + style +
        "</head><body style=\"margin:0;padding:0;background:#f3f2ef\">\n<div class=\"wrapper\">\n" + paras +
        "\n</div></body></html>\n"
    )


# messages ----------------------------------------------------------------------

KIND_WEIGHTS = [
    ("newsletter", 22), ("receipt", 9), ("job_alert", 7), ("notification", 17),
    ("thread", 20), ("work", 13), ("attachment", 8), ("large", 0.15),
]


def generate(count: int = 10_000, seed: int = 20260301, crlf: bool = False) -> Iterator[tuple[str, bytes]]:
    """Yield (kind, message bytes) for ``count`` messages; ~3% of them are
    kind "intro", "referral", "lead" or "request"."""
    g = _Gen(seed)
    rng = g.rng
    kinds, weights = zip(*KIND_WEIGHTS)
    threads: list[dict] = []
    for i in range(count):
        if rng.random() < 0.03:
            kind, data = _followup(g, i, count)
        else:
            kind = rng.choices(kinds, weights)[0]
            data = _BUILDERS[kind](g, i, count, threads)
        if crlf:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        yield kind, data


def _envelope(g: _Gen, i: int, n: int, frm: str, subject: str, domain: str, to: str = USER, extra: str = "",
              msgid: str | None = None) -> tuple[str, str]:
    msgid = msgid or g.msgid(i, domain)
    head = (
        f"Return-Path: <bounce-{i}@{domain}>\n"
        f"Received: from mx{i % 7}.{domain} (mx{i % 7}.{domain} [192.0.2.{i % 250 + 1}])\n"
        f"\tby mail.example.com with ESMTPS id {g.rng.getrandbits(48):012x}\n"
        f"\tfor <{USER_EMAIL}>; {format_datetime(g.date(i, n))}\n"
        f"Authentication-Results: mx.example.com; dkim=pass header.d={domain}; spf=pass "
        f"smtp.mailfrom={domain}; dmarc=pass header.from={domain}\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s{i % 3};\n"
        f"\th=from:to:subject:date:message-id:mime-version:content-type;\n"
        f"\tbh={base64.b64encode(g.rng.randbytes(32)).decode()};\n"
        f"\tb={_fold64(base64.b64encode(g.rng.randbytes(256)).decode())}\n"
        f"Date: {format_datetime(g.date(i, n))}\n"
        f"From: {frm}\n"
        f"To: {to}\n"
        f"Subject: {_subject(subject)}\n"
        f"Message-ID: {msgid}\n"
        f"MIME-Version: 1.0\n"
        f"{extra}"
    )
    return head, msgid


def _fold64(s: str) -> str:
    return "\n\t ".join(s[k : k + 70] for k in range(0, len(s), 70))


def _pick_charset(rng: random.Random) -> tuple[str, str]:
    charset = rng.choices(["utf-8", "iso-8859-1", "windows-1252"], [70, 15, 15])[0]
    cte = rng.choices(["7bit", "quoted-printable", "base64"], [40, 40, 20])[0]
    return charset, cte


def _newsletter(g: _Gen, i: int, n: int, threads) -> bytes:
    rng = g.rng
    name, email = rng.choice(NEWSLETTERS)
    domain = email.split("@")[1]
    size = g.size_target() * 2
    text = g.text(min(size // 3, 60_000))
    title = f"{name}: {rng.choice(['This week', 'Issue', 'Edition'])} #{i % 400 + 1}"
    html = _html_from_text(title, text, rng, heavy=True)
    while len(html) < min(size, 130_000):
        html = html.replace("</div></body>", f"<p class=\"c1\">{g.paragraph()}</p>\n</div></body>", 1)
    extra = (
        f"List-Unsubscribe: <https://{domain}/u/{rng.getrandbits(64):016x}>, <mailto:unsub-{i}@{domain}>\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
        f"List-Id: {name} <list.{domain}>\nPrecedence: bulk\n"
    )
    head, _ = _envelope(g, i, n, _addr(name, email), title, domain, extra=extra)
    charset, cte = _pick_charset(rng)
    hp = _encode_text(html, "html", "utf-8", "quoted-printable" if cte == "7bit" else cte)
    if rng.random() < 0.35:  # HTML only
        h, b = hp
        return (head + h + "\n").encode() + b
    tp = _encode_text(text, "plain", charset, cte)
    h, b = _multipart("alternative", [tp, hp], f"----=_Part_{i}_{rng.getrandbits(32)}")
    return (head + h + "\n").encode() + b


def _receipt(g: _Gen, i: int, n: int, threads) -> bytes:
    rng = g.rng
    name, email = rng.choice(SHOPS)
    domain = email.split("@")[1]
    lines = [f"{rng.choice(WORDS).title()} {rng.choice(WORDS)}{' ' * rng.randint(4, 20)}${rng.randint(2, 300)}.{rng.randint(0, 99):02d}"
             for _ in range(rng.randint(1, 8))]
    total = f"Total{' ' * 30}${rng.randint(5, 900)}.{rng.randint(0, 99):02d}"
    text = f"Thank you for your order, Jordan!\n\nOrder #{rng.randint(100000, 999999)}\n\n" + "\n".join(lines) + f"\n{total}\n\n" + g.text(rng.randint(300, 3000))
    subject = rng.choice(["Your receipt from {s}", "Order confirmation – {s}", "Votre reçu {s}", "Your {s} invoice"]).format(s=name)
    head, _ = _envelope(g, i, n, _addr(name, email), subject, domain)
    charset, cte = _pick_charset(rng)
    html = _html_from_text(subject, text, rng, heavy=rng.random() < 0.5)
    if rng.random() < 0.3:
        body_h, body_b = _encode_text(html, "html", charset, cte)
    else:
        body_h, body_b = _multipart("alternative", [_encode_text(text, "plain", charset, cte), _encode_text(html, "html", charset, cte)],
                                    f"=_alt_{rng.getrandbits(48):012x}")
    if rng.random() < 0.3:
        pdf = _attachment(rng, "pdf", rng.randint(20_000, 120_000), f"invoice-{i}.pdf")
        body_h, body_b = _multipart("mixed", [(body_h, body_b), pdf], f"=_mix_{rng.getrandbits(48):012x}")
    return (head + body_h + "\n").encode() + body_b


def _job_alert(g: _Gen, i: int, n: int, threads) -> bytes:
    rng = g.rng
    name, email = rng.choice(JOB_BOARDS)
    domain = email.split("@")[1]
    jobs = []
    for _ in range(rng.randint(3, 15)):
        company = rng.choice(COMPANIES)[0]
        role = rng.choice(["Senior Data Engineer", "Analytics Lead", "Staff Engineer", "Product Manager", "Data Scientist"])
        jobs.append(f"{role} at {company} – {rng.choice(['Remote', 'Berlin', 'New York', 'São Paulo', 'London'])}\n"
                    f"https://{domain}/view/{rng.getrandbits(40):010x}")
    text = f"{len(jobs)} new jobs match your alert \"data engineering\"\n\n" + "\n\n".join(jobs) + "\n\n" + g.text(rng.randint(200, 1500))
    extra = f"List-Unsubscribe: <https://{domain}/alerts/unsubscribe?id={rng.getrandbits(32)}>\n"
    head, _ = _envelope(g, i, n, _addr(name, email), f"{len(jobs)} new jobs for data engineering", domain, extra=extra)
    charset, cte = _pick_charset(rng)
    h, b = _multipart("alternative", [_encode_text(text, "plain", charset, cte),
                                      _encode_text(_html_from_text("Jobs", text, rng, True), "html", charset, cte)],
                      f"b1_{rng.getrandbits(64):016x}")
    return (head + h + "\n").encode() + b


def _notification(g: _Gen, i: int, n: int, threads) -> bytes:
    rng = g.rng
    name, email = rng.choice(NOTIFIERS)
    domain = email.split("@")[1]
    subject = rng.choice([
        "[assistant] Build failed on main", "Invitation: Weekly sync @ Mon 10am", "A new sign-in to your account",
        "Your statement is ready", "You have 3 unread messages", "Reminder: dentist tomorrow at 9:00",
    ])
    text = g.text(rng.randint(200, 2500))
    head, _ = _envelope(g, i, n, _addr(name, email), subject, domain, extra="Auto-Submitted: auto-generated\n")
    charset, cte = _pick_charset(rng)
    if rng.random() < 0.15:  # calendar invite with a text/calendar part
        ics = ("BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:REQUEST\nBEGIN:VEVENT\nSUMMARY:Weekly sync\n"
               f"UID:{rng.getrandbits(64):016x}\nDTSTART:20250310T150000Z\nEND:VEVENT\nEND:VCALENDAR\n")
        h, b = _multipart("alternative", [_encode_text(text, "plain", charset, cte),
                                          ("Content-Type: text/calendar; method=REQUEST; charset=\"utf-8\"\n", ics.encode())],
                          f"000000000000{rng.getrandbits(40):010x}")
    else:
        h, b = _encode_text(text, "plain", charset, cte)
    return (head + h + "\n").encode() + b


def _quote(text: str, who: str, when: datetime) -> str:
    quoted = "\n".join("> " + line if line else ">" for line in text.splitlines())
    return f"On {format_datetime(when)}, {who} wrote:\n{quoted}\n"


def _thread(g: _Gen, i: int, n: int, threads: list[dict]) -> bytes:
    """A reply in a chain (or its start), with the quoted history."""
    rng = g.rng
    if threads and rng.random() < 0.7:
        t = rng.choice(threads[-40:])
    else:
        name, email, company, first = g.person()
        t = {"subject": rng.choice(["Plans for", "Question about", "Notes from", "Thoughts on", "Update:"]) + " " + rng.choice(TOPICS),
             "peer": (name, email), "ids": [], "history": ""}
        threads.append(t)
    name, email = t["peer"]
    domain = email.split("@")[1]
    from_user = bool(t["ids"]) and rng.random() < 0.3
    frm = USER if from_user else _addr(name, email)
    to = _addr(name, email) if from_user else USER
    subject = ("Re: " if t["ids"] else "") + t["subject"]
    new_text = g.text(rng.randint(150, 1500))
    body = new_text
    when = g.date(i, n)
    if t["history"]:
        body += "\n\n" + t["history"]
    extra = ""
    if t["ids"]:
        extra = f"In-Reply-To: {t['ids'][-1]}\nReferences: {' '.join(t['ids'][-10:])}\n"
    if rng.random() < 0.3:
        extra += f"Cc: {_addr(*g.person()[:2])}\n"
    head, msgid = _envelope(g, i, n, frm, subject, "example.com" if from_user else domain, to=to, extra=extra)
    t["ids"].append(msgid)
    t["history"] = _quote(body, USER_NAME if from_user else name, when)[:120_000]
    charset, cte = _pick_charset(rng)
    if rng.random() < 0.5:
        h, b = _encode_text(body, "plain", charset, cte)
    else:
        html = ("<div dir=\"ltr\">" + new_text.replace("\n\n", "<br><br>\n") + "</div>\n<blockquote>"
                + t["history"].replace("\n", "<br>\n") + "</blockquote>\n")
        h, b = _multipart("alternative", [_encode_text(body, "plain", charset, cte), _encode_text(html, "html", charset, cte)],
                          f"0000000000{rng.getrandbits(48):012x}")
    return (head + h + "\n").encode() + b


def _work(g: _Gen, i: int, n: int, threads) -> bytes:
    rng = g.rng
    name, email, company, first = g.person()
    subject = rng.choice(["Agenda for", "Minutes:", "Draft:", "FYI", "Status of"]) + " " + rng.choice(TOPICS)
    text = f"Hi Jordan,\n\n{g.text(g.size_target() // 2)}\n\nThanks,\n{first}\n"
    extra = f"Cc: {_addr(*g.person()[:2])}, {_addr(*g.person()[:2])}\n" if rng.random() < 0.4 else ""
    head, _ = _envelope(g, i, n, _addr(name, email), subject, email.split("@")[1], extra=extra)
    charset, cte = _pick_charset(rng)
    h, b = _encode_text(text, "plain", charset, cte)
    return (head + h + "\n").encode() + b


def _with_attachments(g: _Gen, i: int, n: int, threads, large: bool = False) -> bytes:
    rng = g.rng
    name, email, company, first = g.person()
    subject = rng.choice(["Slides from today", "Photos", "Signed contract", "Scan", "Report Q3", "Résumé"])
    text = f"Hi Jordan,\n\nAttached, as promised.\n\n{g.text(rng.randint(100, 800))}\n\n{first}\n"
    head, _ = _envelope(g, i, n, _addr(name, email), subject, email.split("@")[1])
    charset, cte = _pick_charset(rng)
    text_part = _encode_text(text, "plain", charset, cte)
    if rng.random() < 0.4:
        text_part = _multipart("alternative", [text_part, _encode_text(_html_from_text(subject, text, rng, False), "html", charset, cte)],
                               f"alt-{rng.getrandbits(48):012x}")
    parts = [text_part]
    for k in range(1 if large else rng.randint(1, 3)):
        kind = rng.choice(["pdf", "png", "jpg"])
        size = rng.randint(1_000_000, 3_000_000) if large else rng.randint(5_000, 110_000)
        fname = rng.choice(["report", "photo", "scan", "contrat-signé", "slides", "CV Jordan"]) + f"-{k}.{kind}"
        parts.append(_attachment(rng, kind, size // (3 if not large else 1), fname))
    h, b = _multipart("mixed", parts, f"mix-{rng.getrandbits(48):012x}")
    return (head + h + "\n").encode() + b


def _followup(g: _Gen, i: int, n: int) -> tuple[str, bytes]:
    """An introduction, referral, lead or request."""
    rng = g.rng
    kind, subject_t, body_t = rng.choice(INTRO_TEMPLATES)
    sender_name, sender_email, sender_company, sender_first = g.person()
    their_name, their_email, company, their_first = g.person()
    she, her = rng.choice([("she", "her"), ("he", "him"), ("they", "them")])
    fields = dict(
        you_first="Jordan", their_name=their_name, their_email=their_email, their_first=their_first,
        their_last=their_name.split(" ", 1)[1], company=company if kind != "lead" else sender_company,
        role=rng.choice(ROLES), topic=rng.choice(TOPICS), sender_first=sender_first, sender_name=sender_name,
        she=she, her=her,
    )
    text = body_t.format(**fields)
    if rng.random() < 0.3:
        text += "\n" + g.text(rng.randint(100, 600)) + "\n"
    extra = ""
    if kind == "intro":
        extra = f"Cc: {_addr(their_name, their_email)}\n"
    head, _ = _envelope(g, i, n, _addr(sender_name, sender_email), subject_t.format(**fields),
                        sender_email.split("@")[1], extra=extra)
    charset, cte = _pick_charset(rng)
    if rng.random() < 0.5:
        h, b = _encode_text(text, "plain", charset, cte)
    else:
        html = "<div>" + text.replace("\n\n", "</div>\n<div><br></div>\n<div>").replace("\n", "<br>\n") + "</div>\n"
        if rng.random() < 0.3:  # HTML only
            h, b = _encode_text(html, "html", charset, cte)
        else:
            h, b = _multipart("alternative", [_encode_text(text, "plain", charset, cte), _encode_text(html, "html", charset, cte)],
                              f"intro-{rng.getrandbits(48):012x}")
    return kind, (head + h + "\n").encode() + b


_BUILDERS = {
    "newsletter": _newsletter,
    "receipt": _receipt,
    "job_alert": _job_alert,
    "notification": _notification,
    "thread": _thread,
    "work": _work,
    "attachment": _with_attachments,
    "large": lambda g, i, n, t: _with_attachments(g, i, n, t, large=True),
}


# output -----------------------------------------------------------------------


def write_maildir(
    path: str | os.PathLike[str],
    messages,
    uid: int | None = None,
    gid: int | None = None,
    labels: str | os.PathLike[str] | None = None,
) -> int:
    """Write (kind, bytes) pairs (or bare bytes) into the Maildir ``path`` (cur/, unseen,
    with S=/W= sizes in the names), chown to uid/gid when given; optional labels
    file (JSON lines: file, kind).  Returns the count."""
    root = Path(path)
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        if uid is not None:
            os.chown(root / sub, uid, gid if gid is not None else -1)
    if uid is not None:
        os.chown(root, uid, gid if gid is not None else -1)
    label_fh = open(labels, "w") if labels else None
    n = 0
    stamp = int(START.timestamp())
    try:
        for item in messages:
            kind, data = item if isinstance(item, tuple) else ("", item)
            n += 1
            virtual = len(data) + data.count(b"\n") - data.count(b"\r\n")
            # names sort in generation order -> Dovecot assigns UIDs in that order
            name = f"{stamp + n}.M{n:06d}P0Q{n}.genmail,S={len(data)},W={virtual}:2,"
            target = root / "cur" / name
            with open(target, "wb") as fh:
                fh.write(data)
            if uid is not None:
                os.chown(target, uid, gid if gid is not None else -1)
            if label_fh:
                label_fh.write(json.dumps({"file": name, "n": n, "kind": kind}) + "\n")
    finally:
        if label_fh:
            label_fh.close()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20260301)
    out = ap.add_mutually_exclusive_group(required=True)
    out.add_argument("--maildir", help="write into this Maildir (INBOX layout: cur/new/tmp)")
    out.add_argument("--eml-dir", help="write one NNNNN.eml per message")
    out.add_argument("--stats", action="store_true", help="only print size/kind statistics")
    ap.add_argument("--labels", help="with --maildir: write kinds as JSON lines here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    gen = generate(args.count, args.seed)
    if args.maildir:
        n = write_maildir(args.maildir, gen, labels=args.labels)
    elif args.eml_dir:
        d = Path(args.eml_dir)
        d.mkdir(parents=True, exist_ok=True)
        n = 0
        for n, (_kind, data) in enumerate(gen, 1):
            (d / f"{n:05d}.eml").write_bytes(data)
    else:
        sizes, kinds = [], {}
        for kind, data in gen:
            sizes.append(len(data))
            kinds[kind] = kinds.get(kind, 0) + 1
        sizes.sort()
        n = len(sizes)
        print(f"messages {n}, total {sum(sizes) / 1e6:.1f} MB, min {sizes[0]}, median {sizes[n // 2]}, "
              f"p90 {sizes[n * 9 // 10]}, max {sizes[-1]}")
        print(json.dumps(dict(sorted(kinds.items(), key=lambda kv: -kv[1]))))
    print(f"{n} messages in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
