"""Speed of parse plus classify, in messages a second on one core:
`python bench/detect_speed.py ../shared/corpus/dev`.

The corpus is read into memory once, then classified (raw_from_bytes -> parse ->
detect, as `classify_bytes` does) round after round in this single process until at
least MIN_SECONDS have passed, so that the figure is stable.  The rate is over the
process's CPU time, so other work on the machine does not lower it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from assistant.detect import classify_bytes

MIN_SECONDS = 3.0


def main(corpus: Path) -> None:
    files = sorted(corpus.glob("*.eml"))
    if not files:
        sys.exit(f"no .eml files in {corpus}")
    labels = corpus / "labels.jsonl"
    me = json.loads(labels.read_text(encoding="utf-8").splitlines()[0])["me"] if labels.exists() else "me@example.com"
    messages = [f.read_bytes() for f in files]
    for data in messages:  # warm up: imports, regex compilation, caches
        classify_bytes(data, [me])
    done = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < MIN_SECONDS:
        for data in messages:
            classify_bytes(data, [me])
        done += len(messages)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # CPU time is the per-core figure; wall time also counts other processes on a busy machine.
    print(f"parse+classify: {done / cpu:,.0f} messages/second per core "
          f"({done} messages, {len(messages)} distinct, {cpu:.2f} s CPU, {1000 * cpu / done:.3f} ms each; "
          f"wall clock {done / elapsed:,.0f}/s)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/dev"))
