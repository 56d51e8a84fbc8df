"""Scan benchmark: a first `assistant scan` of 10,000 messages against the imaplib
reference (bench/raw_fetch.py), on a private Dovecot.

    .venv/bin/python bench/scan_bench.py [--messages 10000] [--rounds 5] [--seed N]
                                         [--raw-only] [--keep]

1. Starts a Dovecot of its own (tests/dovecot.py) and writes N generated messages
   (bench/genmail.py, fixed seed) straight into the INBOX Maildir of user "jordan".
2. Warm-up, not counted: one reference fetch and one assistant scan, so that Dovecot's
   index and cache are built before anything is timed.
3. Alternates, ROUNDS times: reference fetch, first assistant scan (each with a new,
   empty state dir and an emptied Drafts folder, so each first scan appends its drafts).
   Each is a subprocess; wall time from spawn to exit, peak RSS = ru_maxrss from
   os.wait4() (taken by a tiny spawner, so this process's own size does not leak in).
4. A no-change scan: right after a first scan, `assistant scan` again on the same state,
   5 times; the median whole-process time.
5. Prints a table with the targets: ratio assistant/raw <= 1.5, assistant peak RSS
   <= 150 MB, no-change scan <= 0.4 s; writes bench/.work/scan_bench.json.

Working files are under bench/.work/ (gitignored).  Exit status: 0 when it measured
(even if a target is missed), 1 when the assistant could not be run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"

TARGET_RATIO = 1.5
TARGET_RSS_MB = 150.0
TARGET_NOCHANGE_S = 0.4


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


dovecot_lib = _load("dovecot", REPO / "tests" / "dovecot.py")
genmail = _load("genmail", HERE / "genmail.py")


class Run:
    def __init__(self, label: str, seconds: float, rss_mb: float, code: int, out: str, err: str) -> None:
        self.label, self.seconds, self.rss_mb, self.code, self.out, self.err = label, seconds, rss_mb, code, out, err

    @property
    def ok(self) -> bool:
        return self.code == 0


# Peak RSS comes from wait4()'s ru_maxrss.  Linux carries a process's high-water mark
# across fork and exec, so a child forked straight from this (big) process would report
# at least this process's RSS.  Each command is therefore started by a tiny fresh
# interpreter (~10 MB, less than any Python program it runs) that times it, reaps it with
# wait4 and writes the figures to a file.
_SPAWNER = r"""
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        os.write(2, f"cannot run {argv[0]}: {err}\n".encode())
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"seconds": seconds, "maxrss_kib": ru.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, fh)
"""


def measure(label: str, argv: list[str], env: dict[str, str], log_dir: Path, timeout: float = 1800) -> Run:
    """Run argv: wall time from spawn to exit and peak RSS of the process (its
    ru_maxrss, measured by a small spawner; see _SPAWNER)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{label}-{time.monotonic_ns()}"
    out_path, err_path, res_path = (log_dir / f"{stem}.{ext}" for ext in ("out", "err", "json"))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SPAWNER, str(res_path), *argv],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=REPO, start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    try:
        res = json.loads(res_path.read_text())
    except (OSError, ValueError):
        res = {"seconds": float("nan"), "maxrss_kib": 0, "code": proc.returncode or -9}
    return Run(label, res["seconds"], res["maxrss_kib"] / 1024.0, res["code"],
               out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))


def write_config(path: Path, server, state_dir: Path, user: str) -> None:
    path.write_text(
        f"""[accounts.main]
name = "Jordan Rivera"
email = "jordan.rivera@example.com"

[accounts.main.imap]
host = "{server.host}"
port = {server.port_tls}
security = "tls"
ca_file = "{server.ca_file}"
username = "{user}"
password_command = ""
folders = ["INBOX"]
drafts_folder = ""

[state]
dir = "{state_dir}"
"""
    )


def assistant_command() -> list[str] | None:
    exe = Path(sys.executable).parent / "assistant"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("assistant")
    return [found] if found else None


def fmt_s(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}" if values else "      -"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="scan benchmark: assistant vs. an imaplib reference")
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20260301)
    # Five: on a 2-core machine one scan in three or four runs 0.1 s slow or fast (scheduling),
    # and with three rounds that one round moved the median.
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--nochange", type=int, default=5, help="no-change scans to time")
    ap.add_argument("--raw-only", action="store_true", help="only the reference")
    ap.add_argument("--keep", action="store_true", help="keep bench/.work/ and stop nothing until Enter")
    args = ap.parse_args(argv)

    if dovecot_lib.find_dovecot() is None:
        print("*** Dovecot not installed: run 'sudo apt-get install dovecot-imapd' (make bench does this as root)")
        return 1
    WORK.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))
    os.chmod(run_dir, 0o755)
    logs = run_dir / "logs"
    # Dovecot's mail processes run as 'nobody' when we are root: its directory must be
    # reachable by that uid; bench/.work/ usually is, else fall back to /tmp.
    server_root = run_dir / "dovecot"
    try:
        if os.geteuid() == 0:
            dovecot_lib._check_traversable(server_root, dovecot_lib.pwd.getpwnam("nobody").pw_uid)
    except dovecot_lib.DovecotError as err:
        print(f"note: {err}; using a directory under /tmp for Dovecot")
        server_root = Path(tempfile.mkdtemp(prefix="assistant-bench-dovecot-"))

    user, password = "jordan", "bench-password"
    print(f"starting Dovecot in {server_root}")
    server = dovecot_lib.DovecotServer({user: password}, root=server_root)
    results: dict = {"messages": args.messages, "seed": args.seed, "rounds": args.rounds}
    try:
        t0 = time.perf_counter()
        n = genmail.write_maildir(
            server.maildir(user), genmail.generate(args.messages, args.seed),
            uid=server.mail_uid if server.as_root else None, gid=server.mail_gid if server.as_root else None,
        )
        size = sum(f.stat().st_size for f in (server.maildir(user) / "cur").iterdir())
        print(f"generated {n} messages, {size / 1e6:.0f} MB, in {time.perf_counter() - t0:.1f}s")
        results["mailbox_mb"] = round(size / 1e6, 1)

        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update({
            "ASSISTANT_PASSWORD_MAIN": password,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        raw_argv = [sys.executable, str(HERE / "raw_fetch.py"), "--host", server.host, "--port", str(server.port_tls),
                    "--security", "tls", "--ca-file", server.ca_file, "--user", user, "--json"]
        assistant = None if args.raw_only else assistant_command()
        assistant_problem = "" if assistant or args.raw_only else "the `assistant` command is not installed in the venv"

        mailbox = dovecot_lib.Mailbox(server, user, password)

        def empty_drafts() -> None:
            """Untimed: a first scan finds Drafts as a new user would, without our drafts."""
            client = mailbox.connect()
            try:
                if client.folder_exists("Drafts"):
                    client.select_folder("Drafts")
                    uids = client.search(["ALL"])
                    if uids:
                        client.delete_messages(uids)
                        client.expunge()
            finally:
                client.logout()

        def first_scan(tag: str) -> tuple[Run, Path]:
            empty_drafts()
            state = run_dir / f"state-{tag}"
            cfg = run_dir / f"config-{tag}.toml"
            write_config(cfg, server, state, user)
            return measure(f"assistant-{tag}", [*assistant, "--config", str(cfg), "scan", "--json"], env, logs), cfg

        # warm-up (not counted): Dovecot builds its index and caches what each client asks
        print("warm-up: reference fetch ...", flush=True)
        warm = measure("raw-warmup", raw_argv, env, logs)
        if not warm.ok:
            print(f"*** raw_fetch failed (exit {warm.code}):\n{warm.err[-3000:]}")
            return 1
        results["raw_summary"] = json.loads(warm.out)
        if assistant:
            print("warm-up: assistant scan ...", flush=True)
            w, _ = first_scan("warmup")
            if not w.ok:
                assistant_problem = f"`assistant scan --json` exited {w.code}:\n{(w.err or w.out)[-3000:]}"
                assistant = None
            else:
                try:
                    results["assistant_summary"] = json.loads(w.out)
                except json.JSONDecodeError:
                    results["assistant_summary"] = w.out[-2000:]

        raw_runs: list[Run] = []
        asst_runs: list[Run] = []
        for r in range(1, args.rounds + 1):
            run = measure(f"raw-{r}", raw_argv, env, logs)
            if not run.ok:
                print(f"*** raw_fetch failed (exit {run.code}):\n{run.err[-3000:]}")
                return 1
            raw_runs.append(run)
            line = f"round {r}: raw {run.seconds:6.2f}s {run.rss_mb:6.1f} MB"
            if assistant:
                a, _ = first_scan(f"r{r}")
                if not a.ok:
                    assistant_problem = f"`assistant scan --json` exited {a.code}:\n{(a.err or a.out)[-3000:]}"
                    assistant = None
                else:
                    asst_runs.append(a)
                    line += f" | assistant {a.seconds:6.2f}s {a.rss_mb:6.1f} MB"
            print(line, flush=True)

        nochange: list[Run] = []
        if assistant:
            first, cfg = first_scan("nochange")
            if first.ok:
                for k in range(args.nochange):
                    run = measure(f"nochange-{k}", [*assistant, "--config", str(cfg), "scan"], env, logs)
                    if not run.ok:
                        assistant_problem = f"no-change `assistant scan` exited {run.code}:\n{(run.err or run.out)[-3000:]}"
                        break
                    nochange.append(run)
            else:
                assistant_problem = f"`assistant scan --json` exited {first.code}:\n{(first.err or first.out)[-3000:]}"

        # ------------------------------------------------------------ report
        raw_t = [r.seconds for r in raw_runs]
        raw_m = [r.rss_mb for r in raw_runs]
        as_t = [r.seconds for r in asst_runs]
        as_m = [r.rss_mb for r in asst_runs]
        nc_t = [r.seconds for r in nochange]
        ratio = statistics.median(as_t) / statistics.median(raw_t) if as_t and raw_t else None

        def verdict(ok: bool | None) -> str:
            return "" if ok is None else ("ok" if ok else "MISSED")

        print()
        print(f"Scan benchmark: {n} messages ({results['mailbox_mb']} MB) in INBOX, "
              f"{len(raw_runs)} alternating rounds, Dovecot {server.host}:{server.port_tls} (TLS)")
        print()
        header = f"{'':34} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}   {'target':<16} {'':6}"
        print(header)
        print("-" * len(header))

        def row(label: str, times: list[float], rss: list[float], target: str = "", ok: bool | None = None) -> None:
            if times:
                print(f"{label:34} {statistics.median(times):9.2f} {min(times):7.2f} {max(times):7.2f} "
                      f"{max(rss):12.1f}   {target:<16} {verdict(ok):6}")
            else:
                print(f"{label:34} {'-':>9} {'-':>7} {'-':>7} {'-':>12}   {target:<16} {'n/a':6}")

        row("reference (imaplib raw_fetch)", raw_t, raw_m)
        row("assistant first scan", as_t, as_m, f"RSS <= {TARGET_RSS_MB:.0f} MB",
            (max(as_m) <= TARGET_RSS_MB) if as_m else None)
        row(f"assistant no-change scan (x{len(nc_t)})", nc_t, [r.rss_mb for r in nochange],
            f"<= {TARGET_NOCHANGE_S} s", (statistics.median(nc_t) <= TARGET_NOCHANGE_S) if nc_t else None)
        print("-" * len(header))
        if ratio is not None:
            print(f"{'ratio assistant / reference':34} {ratio:9.2f} {'':7} {'':7} {'':12}   "
                  f"{'<= ' + str(TARGET_RATIO):<16} {verdict(ratio <= TARGET_RATIO):6}")
        else:
            print(f"{'ratio assistant / reference':34} {'-':>9} {'':7} {'':7} {'':12}   {'<= ' + str(TARGET_RATIO):<16} n/a")
        summary = results.get("raw_summary", {})
        if summary:
            print(f"\nreference: {summary.get('messages')} messages, phase 1 {summary.get('seconds_phase1')}s, "
                  f"phase 2 {summary.get('seconds_phase2')}s ({summary.get('text_parts')} text parts, "
                  f"{summary.get('bytes_text_raw', 0) / 1e6:.1f} MB) in the warm-up run")
        if assistant_problem:
            print(f"\n*** assistant not measured: {assistant_problem}")

        results.update({
            "raw_seconds": raw_t, "raw_rss_mb": raw_m,
            "assistant_seconds": as_t, "assistant_rss_mb": as_m,
            "nochange_seconds": nc_t,
            "ratio": ratio,
            "targets": {"ratio": TARGET_RATIO, "rss_mb": TARGET_RSS_MB, "nochange_s": TARGET_NOCHANGE_S},
            "assistant_problem": assistant_problem,
        })
        (WORK / "scan_bench.json").write_text(json.dumps(results, indent=2, default=str))
        print(f"\nfigures: {WORK / 'scan_bench.json'}; logs: {logs}")
        if args.keep:
            print(f"Dovecot still running ({server}); user {user} / {password}. Enter stops it.")
            try:
                input()
            except EOFError:
                pass
        return 1 if assistant_problem and not args.raw_only else 0
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(server_root, ignore_errors=True)
            # keep the logs of the last run only
            for old in WORK.glob("run-*"):
                if old != run_dir:
                    shutil.rmtree(old, ignore_errors=True)
            shutil.rmtree(run_dir / "dovecot", ignore_errors=True)
            for state in run_dir.glob("state-*"):
                shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
