#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge a guest console log: check-results.py LOG JOB [JOB ...]

A job passes when the guest framed it (BENCH-BEGIN/BENCH-END), it exited 0,
it reported at least one TAP/KTAP "ok" line and no "not ok" line. The whole
log fails on any oops, WARN, BUG, lockdep, KASAN or kmemleak report, on a
missing "BENCH: done" (crash or timeout), or on a missing job.
Prints TAP for the host and a closing "N passed, N failed" line.
"""
import re
import sys

KERNEL_ERRORS = re.compile(
    r"(Oops|WARNING:|BUG:|kernel BUG|Kernel panic|Unable to handle kernel"
    r"|possible circular locking|possible recursive locking"
    r"|inconsistent lock state|suspicious RCU usage|lockdep is turned off"
    r"|DEBUG_LOCKS_WARN_ON|bad unlock balance|held lock freed"
    r"|BUG: KASAN|KASAN: |UBSAN:|new suspected memory leak|unreferenced object 0x"
    r"|Call Trace:|TIMEOUT after)")
TAP = re.compile(r"^\s*(not ok|ok)\s+\d+(\s.*)?$")
SKIP = re.compile(r"#\s*SKIP", re.IGNORECASE)


def parse_jobs(lines):
    """Return {job: {"rc": int|None, "ok": n, "fail": [lines], "skip": n}}."""
    jobs, current = {}, None
    for line in lines:
        if line.startswith("BENCH-BEGIN "):
            current = line.split(None, 1)[1].strip()
            jobs[current] = {"rc": None, "ok": 0, "fail": [], "skip": 0}
        elif line.startswith("BENCH-END ") and current:
            m = re.search(r"rc=(\d+)", line)
            jobs[current]["rc"] = int(m.group(1)) if m else None
            current = None
        elif current:
            m = TAP.match(line)
            if not m:
                continue
            if m.group(1) == "not ok":
                jobs[current]["fail"].append(line.strip())
            elif SKIP.search(line):
                jobs[current]["skip"] += 1
            else:
                jobs[current]["ok"] += 1
    return jobs


def judge(job, res):
    if res is None:
        return "the guest never ran it (crash, timeout or bad job name)"
    if res["rc"] is None:
        return "it did not finish"
    if res["fail"]:
        return "; ".join(res["fail"][:5])
    if res["rc"] != 0:
        return "exit status %d" % res["rc"]
    if res["ok"] == 0:
        return "it reported no passing test"
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1], errors="replace") as f:
        lines = [l.rstrip("\r\n") for l in f]
    jobs = parse_jobs(lines)
    passed = failed = 0
    log_case = len(sys.argv) - 1
    print("1..%d" % log_case)
    for n, job in enumerate(sys.argv[2:], 1):
        why = judge(job, jobs.get(job))
        res = jobs.get(job) or {"ok": 0, "skip": 0}
        if why:
            failed += 1
            print("not ok %d - %s: %s" % (n, job, why))
        else:
            passed += 1
            print("ok %d - %s (%d checks, %d skipped)" % (n, job, res["ok"], res["skip"]))
    errors = [l for l in lines if KERNEL_ERRORS.search(l)]
    done = any(l.startswith("BENCH: done") for l in lines)
    n = log_case
    if errors or not done:
        failed += 1
        print("not ok %d - guest log clean: %s" % (
            n, "; ".join(errors[:5]) if errors else "no 'BENCH: done' (crash or timeout)"))
    else:
        passed += 1
        print("ok %d - guest log clean" % n)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
