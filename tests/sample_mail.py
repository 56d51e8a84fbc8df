"""Small, realistic test messages for the mailbox owner Jordan Rivera, built in code."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

ME = "jordan.rivera@example.com"
WHEN = datetime(2026, 11, 24, 10, 15, tzinfo=timezone.utc)  # a Tuesday morning


def _message(sender: str, to: str, subject: str, body: str, cc: str = "", msgid: str | None = None,
             **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(WHEN)
    msg["Message-ID"] = msgid or make_msgid(domain="test.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


def introduction(contact_name: str = "Dana Whitfield", contact_email: str = "dana@acme.example",
                 msgid: str | None = None) -> bytes:
    first = contact_name.split()[0]
    return _message(
        "Priya Natarajan <priya@northwind.example>",
        f"Jordan Rivera <{ME}>",
        f"Intro: Jordan <> {first} (Acme Robotics)",
        f"Hi both,\n\nJordan, meet {contact_name}, who leads the data platform team at Acme Robotics. "
        f"{first}, meet Jordan Rivera, a data engineer I worked with for years and who is looking "
        f"for their next role.\n\nI think you two should talk - I'll let you take it from here.\n\n"
        f"Best,\nPriya\n",
        cc=f"{contact_name} <{contact_email}>",
        msgid=msgid,
    )


def newsletter(n: int = 1) -> bytes:
    return _message(
        "Data Weekly <news@dataweekly.example>",
        f"Jordan Rivera <{ME}>",
        f"Data Weekly #{n}: introducing our new format",
        "This week: introducing the new format, five articles on pipelines, and a job board.\n",
        List_Unsubscribe="<mailto:unsubscribe@dataweekly.example>",
        Precedence="bulk",
    )


def personal(n: int = 1) -> bytes:
    return _message(
        "Sam Ortiz <sam.ortiz@friends.example>",
        f"Jordan Rivera <{ME}>",
        f"Dinner on Saturday? ({n})",
        "Hey! Are we still on for dinner on Saturday? Bring the board game.\n\nSam\n",
    )
