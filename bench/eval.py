"""Detection quality on a labelled corpus: `python bench/eval.py ../shared/corpus/dev`.

Runs the real command line (`assistant classify --json --me EMAIL FILE...`, the
`assistant` script beside this Python) over every message of labels.jsonl and
compares its answers with the labels (format: ../shared/corpus/SCHEMA.md):

- per-kind precision, recall and F1, and their macro average over the five kinds;
- contact-address exact match: over messages labelled introduction or referral, the
  share whose predicted contact addresses equal the labelled ones (a contact without
  an address counts as an empty address);
- contact-name match: over labelled contacts of those messages, the share for which a
  predicted contact (paired by address, else by name) has the labelled name or the
  display name the message's own headers give that address;
- referrer accuracy: over messages with a labelled referrer, the share with the same
  referrer address; company and role accuracy over messages that label one;
- how often the kind is right at each confidence level (calibration);
- the confusion matrix, and the list of misclassified files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from collections import defaultdict
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

KINDS = ("introduction", "referral", "lead", "request", "none")
CLI = Path(sys.executable).with_name("assistant")


def norm(name: str | None) -> str:
    """Names compared without case, accents, punctuation or "Last, First" order."""
    name = (name or "").strip()
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        name = f"{first} {last}"
    name = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in name if c.isalnum() or c.isspace()).split())


def header_names(path: Path) -> dict[str, set[str]]:
    """Display names the message's headers give each address (From, To, Cc, Reply-To)."""
    msg = BytesHeaderParser(policy=policy.default).parsebytes(path.read_bytes())
    names: dict[str, set[str]] = defaultdict(set)
    for field in ("From", "To", "Cc", "Reply-To"):
        for name, addr in getaddresses([str(v) for v in msg.get_all(field, [])]):
            if addr and name:
                names[addr.lower()].add(norm(name))
    return names


def classify(corpus: Path, labels: list[dict]) -> dict[str, dict]:
    """The CLI's answer for every labelled file, one run per mailbox owner."""
    by_me: dict[str, list[str]] = defaultdict(list)
    for label in labels:
        by_me[label["me"]].append(str(corpus / label["file"]))
    results: dict[str, dict] = {}
    for me, files in by_me.items():
        run = subprocess.run([str(CLI), "classify", "--json", "--me", me, *files], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            sys.exit(f"assistant classify failed ({run.returncode}):\n{run.stderr[-2000:]}")
        for line in run.stdout.splitlines():
            if line.strip():
                answer = json.loads(line)
                results[Path(answer["file"]).name] = answer
    return results


def contact_scores(gold: list[dict], got: list[dict], headers: dict[str, set[str]]) -> tuple[bool, int]:
    """(addresses equal, number of labelled contacts whose name was found)."""
    same_addresses = sorted((c["email"] or "").lower() for c in gold) == sorted((c["email"] or "").lower() for c in got)
    named = 0
    for contact in gold:
        email = (contact["email"] or "").lower()
        if email:
            pair = next((c for c in got if (c["email"] or "").lower() == email), None)
        else:
            pair = next((c for c in got if not c["email"] and norm(c["name"]) == norm(contact["name"])), None)
        if pair and norm(pair["name"]) in {norm(contact["name"]), *headers.get(email, ())}:
            named += 1
    return same_addresses, named


def main(corpus: Path) -> None:
    labels = [json.loads(line) for line in (corpus / "labels.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    results = classify(corpus, labels)
    confusion = {g: {p: 0 for p in KINDS} for g in KINDS}
    addr_total = addr_ok = names_total = names_ok = ref_total = ref_ok = 0
    field_total = {"company": 0, "role": 0}
    field_ok = {"company": 0, "role": 0}
    wrong = []
    buckets = {b: [0, 0] for b in ("0.00-0.59", "0.60-0.79", "0.80-1.00")}  # [answers, right kinds]
    for label in labels:
        answer = results.get(label["file"])
        if answer is None:
            sys.exit(f"no answer for {label['file']}")
        confusion[label["kind"]][answer["kind"]] += 1
        bucket = "0.80-1.00" if answer["confidence"] >= 0.8 else "0.60-0.79" if answer["confidence"] >= 0.6 else "0.00-0.59"
        buckets[bucket][0] += 1
        buckets[bucket][1] += answer["kind"] == label["kind"]
        if answer["kind"] != label["kind"]:
            wrong.append(f"  {label['file']}: labelled {label['kind']}, got {answer['kind']} ({'; '.join(answer['reasons'])})")
        if label["kind"] in ("introduction", "referral"):
            same, named = contact_scores(label["contacts"], answer["contacts"], header_names(corpus / label["file"]))
            addr_total += 1
            addr_ok += same
            names_total += len(label["contacts"])
            names_ok += named
        if label["referrer"]:
            ref_total += 1
            ref_ok += bool(answer["referrer"]) and (answer["referrer"]["email"] or "").lower() == label["referrer"]["email"].lower()
        for key in field_total:
            if label[key]:
                field_total[key] += 1
                field_ok[key] += norm(answer[key]) == norm(label[key])

    print(f"{len(labels)} messages in {corpus}\n")
    print(f"{'kind':<14}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    f1s = []
    for kind in KINDS:
        tp = confusion[kind][kind]
        predicted = sum(confusion[g][kind] for g in KINDS)
        support = sum(confusion[kind].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        print(f"{kind:<14}{precision:>10.3f}{recall:>8.3f}{f1:>7.3f}{support:>9}")
    print(f"\nmacro-F1                         {sum(f1s) / len(f1s):.3f}")
    print(f"contact-address exact match      {addr_ok / max(addr_total, 1):.3f}  ({addr_ok}/{addr_total} introductions and referrals)")
    print(f"contact-name match               {names_ok / max(names_total, 1):.3f}  ({names_ok}/{names_total} contacts)")
    print(f"referrer accuracy                {ref_ok / max(ref_total, 1):.3f}  ({ref_ok}/{ref_total})")
    for key in field_total:
        print(f"{key + ' accuracy':<33}{field_ok[key] / max(field_total[key], 1):.3f}  ({field_ok[key]}/{field_total[key]})")
    print("\ncalibration: share of right kinds by confidence")
    for bucket, (count, right) in buckets.items():
        print(f"  {bucket}  {right / count if count else 0:.3f}  ({right}/{count})")
    print("\nconfusion matrix (rows: labelled, columns: detected)")
    print(" " * 14 + "".join(f"{k[:6]:>8}" for k in KINDS))
    for g in KINDS:
        print(f"{g:<14}" + "".join(f"{confusion[g][p]:>8}" for p in KINDS))
    if wrong:
        print("\nmisclassified:")
        print("\n".join(wrong))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: eval.py CORPUS_DIR (a folder with labels.jsonl)")
    main(Path(sys.argv[1]))
