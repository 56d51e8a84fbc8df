"""The reference for the scan benchmark: the least a scanner has to do, with imaplib.

    python bench/raw_fetch.py --host 127.0.0.1 --port 993 --security tls --ca-file ca.pem \
        --user jordan [--password-env ASSISTANT_PASSWORD_MAIN] [--folder INBOX] [--json]

Standard library only.  EXAMINE the folder (read-only: nothing becomes \\Seen), then

  phase 1  UID FETCH, 1,000 UIDs a command, of
           (UID RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (From To Cc Subject
            Date Message-ID In-Reply-To References List-Unsubscribe Content-Type)])
  phase 2  the text part of each message -- its text/plain part, else its text/html,
           not an attachment, found from BODYSTRUCTURE -- with BODY.PEEK[section],
           UIDs grouped by section, 1,000 UIDs a command,

decoding each text part (base64 / quoted-printable, then its charset) to a str so the
work is comparable with a real scanner's.  Nothing is kept after its batch.  Prints a
summary (or JSON with --json).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import imaplib
import json
import os
import quopri
import re
import ssl
import sys
import time
from collections import defaultdict

HEADER_FIELDS = (
    "From To Cc Subject Date Message-ID In-Reply-To References List-Unsubscribe Content-Type"
)
PHASE1_ITEMS = f"(UID RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"

# ------------------------------------------------------------ response parsing

_TOKEN = re.compile(
    rb"""
    \s*(?:
      (?P<open>\()
    | (?P<close>\))
    | "(?P<quoted>(?:[^"\\]|\\.)*)"
    | \{(?P<literal>\d+)\+?\}$
    | (?P<atom>[^\s()"\[\]{]+(?:\[[^\]]*\](?:<[\d.]+>)?)?)
    )""",
    re.VERBOSE | re.DOTALL,
)


class Literal(bytes):
    """A string that came as an IMAP literal {n}."""


def tokens(data: list) -> list:
    """Flatten imaplib's FETCH data (bytes lines and (line, literal) tuples) into tokens:
    b"(" / b")" as the Ellipsis-free markers "(" and ")", atoms and strings as bytes,
    NIL as None."""
    out: list = []
    for piece in data:
        if isinstance(piece, tuple):
            head, literal = piece
            _scan(head, out)
            out.append(Literal(literal))
        elif isinstance(piece, bytes):
            _scan(piece, out)
    return out


def _scan(line: bytes, out: list) -> None:
    pos, n = 0, len(line)
    while pos < n:
        m = _TOKEN.match(line, pos)
        if m is None:
            if line[pos:].strip() == b"":
                return
            raise ValueError(f"cannot parse IMAP response at {line[pos:pos + 60]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind == "open":
            out.append("(")
        elif kind == "close":
            out.append(")")
        elif kind == "quoted":
            out.append(re.sub(rb"\\(.)", rb"\1", m.group("quoted")))
        elif kind == "literal":
            pass  # the literal itself follows as its own piece
        else:
            atom = m.group("atom")
            out.append(None if atom.upper() == b"NIL" else atom)


def parse(toks: list) -> list:
    """Nest the tokens: a list of top-level items, parenthesised groups as lists."""
    stack: list[list] = [[]]
    for tok in toks:
        if tok == "(" and not isinstance(tok, bytes):
            stack.append([])
        elif tok == ")" and not isinstance(tok, bytes):
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise ValueError("unbalanced parentheses in a FETCH response")
    return stack[0]


def fetch_responses(data: list) -> list[dict[bytes, object]]:
    """imaplib FETCH data -> one {ITEM-NAME: value} per message."""
    items = parse(tokens(data))
    out = []
    # the shape is: SEQ (K V K V ...) SEQ (...) ...
    for k in range(0, len(items) - 1, 2):
        pairs = items[k + 1]
        if not isinstance(pairs, list):
            continue
        out.append({pairs[j].upper(): pairs[j + 1] for j in range(0, len(pairs) - 1, 2)})
    return out


# ---------------------------------------------------------------- BODYSTRUCTURE


def _lower(v) -> str:
    return v.decode("ascii", "replace").lower() if isinstance(v, bytes) else ""


def _params(v) -> dict[str, str]:
    if not isinstance(v, list):
        return {}
    return {_lower(v[i]): (v[i + 1] or b"").decode("ascii", "replace") for i in range(0, len(v) - 1, 2)}


def _is_attachment(part: list) -> bool:
    """Disposition "attachment" (extension data) or a file name."""
    for item in part[7:]:
        if isinstance(item, list) and item and isinstance(item[0], bytes) and _lower(item[0]) in ("attachment", "inline"):
            if _lower(item[0]) == "attachment":
                return True
            if "filename" in _params(item[1] if len(item) > 1 else None):
                return True
    return "name" in _params(part[2])


def text_part(bs: list, prefix: str = "") -> tuple[str, str, str, str] | None:
    """(section, subtype, encoding, charset) of the text/plain part, else text/html."""
    found: dict[str, tuple[str, str, str, str]] = {}

    def walk(node: list, section: str) -> None:
        if not node:
            return
        if isinstance(node[0], list):  # multipart: parts..., subtype, [ext...]
            n = 0
            for child in node:
                if not isinstance(child, list):
                    break
                n += 1
                walk(child, f"{section}.{n}" if section else str(n))
            return
        mtype, subtype = _lower(node[0]), _lower(node[1])
        if mtype != "text" or subtype not in ("plain", "html") or subtype in found:
            return
        if _is_attachment(node):
            return
        charset = _params(node[2]).get("charset", "us-ascii")
        found[subtype] = (section or "1", subtype, _lower(node[5]), charset)

    walk(bs, prefix)
    return found.get("plain") or found.get("html")


def decode(body: bytes, encoding: str, charset: str) -> str:
    if encoding == "base64":
        try:
            body = base64.b64decode(body)
        except (binascii.Error, ValueError):
            body = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/]", b"", body) + b"===", validate=False)
    elif encoding == "quoted-printable":
        body = quopri.decodestring(body)
    try:
        return body.decode(charset or "us-ascii", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


# ------------------------------------------------------------------------ main


def uid_sets(uids: list[int], size: int) -> list[str]:
    """Chunks of ``size`` UIDs, each written compactly as a sequence set."""
    out = []
    for k in range(0, len(uids), size):
        chunk = uids[k : k + size]
        ranges, start, prev = [], chunk[0], chunk[0]
        for u in chunk[1:]:
            if u == prev + 1:
                prev = u
                continue
            ranges.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = u
        ranges.append(f"{start}:{prev}" if start != prev else str(start))
        out.append(",".join(ranges))
    return out


def connect(args) -> imaplib.IMAP4:
    if args.security == "tls":
        ctx = ssl.create_default_context(cafile=args.ca_file or None)
        return imaplib.IMAP4_SSL(args.host, args.port, ssl_context=ctx, timeout=args.timeout)
    imap = imaplib.IMAP4(args.host, args.port, timeout=args.timeout)
    if args.security == "starttls":
        imap.starttls(ssl.create_default_context(cafile=args.ca_file or None))
    return imap


def check(typ: str, data) -> None:
    if typ != "OK":
        raise SystemExit(f"IMAP error: {typ} {data!r}")


def run(args) -> dict:
    password = args.password if args.password is not None else os.environ.get(args.password_env, "")
    t0 = time.perf_counter()
    imap = connect(args)
    check(*imap.login(args.user, password))
    typ, data = imap.select(f'"{args.folder}"', readonly=True)  # EXAMINE
    check(typ, data)
    exists = int(data[0])
    check(*(res := imap.uid("SEARCH", "ALL")))
    uids = [int(x) for x in res[1][0].split()]

    t1 = time.perf_counter()
    stats = defaultdict(int)
    wanted: dict[str, list[tuple[int, str, str]]] = defaultdict(list)  # section -> [(uid, enc, charset)]
    subjects = 0
    for uidset in uid_sets(uids, args.batch):
        typ, data = imap.uid("FETCH", uidset, PHASE1_ITEMS)
        check(typ, data)
        for msg in fetch_responses(data):
            uid = int(msg[b"UID"])
            stats["messages"] += 1
            stats["bytes_total"] += int(msg.get(b"RFC822.SIZE") or 0)
            header = next((v for k, v in msg.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b""
            stats["bytes_headers"] += len(header)
            if b"\nSubject:" in b"\n" + header or header.lower().startswith(b"subject:"):
                subjects += 1
            bs = msg.get(b"BODYSTRUCTURE")
            part = text_part(bs) if isinstance(bs, list) else None
            if part is None:
                stats["no_text_part"] += 1
                continue
            section, subtype, enc, charset = part
            stats[f"text_{subtype}"] += 1
            wanted[section].append((uid, enc, charset))

    t2 = time.perf_counter()
    for section, entries in sorted(wanted.items()):
        info = {uid: (enc, cs) for uid, enc, cs in entries}
        key = f"BODY[{section}]".encode()
        for uidset in uid_sets(sorted(info), args.batch):
            typ, data = imap.uid("FETCH", uidset, f"(BODY.PEEK[{section}])")
            check(typ, data)
            for msg in fetch_responses(data):
                uid = int(msg[b"UID"]) if b"UID" in msg else None
                body = msg.get(key) or b""
                stats["bytes_text_raw"] += len(body)
                enc, cs = info.get(uid, ("7bit", "utf-8"))
                stats["chars_text"] += len(decode(body, enc, cs))
                stats["text_parts"] += 1
        stats["sections"] += 1
    t3 = time.perf_counter()
    try:
        imap.close()
        imap.logout()
    except Exception:
        pass
    return {
        "folder": args.folder,
        "exists": exists,
        **stats,
        "with_subject": subjects,
        "seconds_connect": round(t1 - t0, 3),
        "seconds_phase1": round(t2 - t1, 3),
        "seconds_phase2": round(t3 - t2, 3),
        "seconds_total": round(t3 - t0, 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="reference two-phase IMAP fetch (imaplib only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=993)
    ap.add_argument("--security", choices=("tls", "starttls", "none"), default="tls")
    ap.add_argument("--ca-file", default="")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", default=None, help="default: $ASSISTANT_PASSWORD_MAIN (see --password-env)")
    ap.add_argument("--password-env", default="ASSISTANT_PASSWORD_MAIN")
    ap.add_argument("--folder", default="INBOX")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>16}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
