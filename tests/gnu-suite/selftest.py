#!/usr/bin/env python3
"""compare.sh --self-test: the comparison itself, on a small suite and candidates of known faults.

Writes a suite of par_* functions with known answers into the work directory, compares GNU's
parallel with itself (every compared function must pass) and with a deliberately broken parallel
(GNU with two faults: it refuses --tagstring, and with -k it prints one line more), and checks
the comparator's rules directly. Ends with the plain 'N passed, N failed' line.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import outcmp

HERE = Path(__file__).resolve().parent
SUITE = r"""#!/bin/bash
par_same() { echo '### same'; parallel -k echo ::: a b c; }
par_random() { echo "### random"; parallel echo ::: $RANDOM; }
par_tmp_private() { echo private > /tmp/selftest-file; parallel cat ::: /tmp/selftest-file; }
par_remote() { parallel -S lo echo ::: a; }
par_pipe() { seq 3 | parallel --pipe cat; }
par_tagstring() { parallel --tagstring T echo ::: a; }
par_killer() { killall sleep 2>/dev/null; echo done; }
par_exit() { parallel 'exit {}' ::: 3; }
par_export_f() { doit() { echo "ok $1"; }; export -f doit; parallel doit ::: 1; stdout parallel doit ::: 2; }
par_home() { mkdir -p ~/.parallel; echo --tag > ~/.parallel/config; parallel echo ::: h; }
export -f $(compgen -A function | grep par_)
compgen -A function | grep par_ | LC_ALL=C sort | parallel -j6 --tag -k '{} 2>&1'
"""
BROKEN = r"""#!/bin/bash
# GNU parallel with two faults: it refuses --tagstring, and with -k it prints one line more.
for a in "$@"; do
  case $a in --tagstring) echo "broken: unexpected argument '--tagstring'" >&2; exit 2 ;; esac
done
if [ "$1" = -k ]; then {gnu} "$@"; rc=$?; echo EXTRA; exit $rc; fi
exec {gnu} "$@"
"""
GNU_EXPECT = {
    "par_same": ("accepted", "yes", "pass"),
    "par_random": ("accepted", "no", "pass"),
    "par_tmp_private": ("accepted", "yes", "pass"),
    "par_remote": ("remote", "", "not compared"),
    "par_pipe": ("pipe", "yes", "pass"),
    "par_tagstring": ("accepted", "yes", "pass"),
    "par_killer": ("privileged", "", "not run"),
    "par_exit": ("accepted", "yes", "pass"),
    "par_home": ("accepted", "yes", "pass"),
    "par_export_f": ("accepted", "yes", "pass"),
}
BROKEN_EXPECT = dict(GNU_EXPECT, par_same=("accepted", "yes", "fail"),
                     par_tagstring=("refused", "yes", "fail"))


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok: bool, what: str):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")


def comparator(c: Checks):
    m = outcmp.matches
    c.check(m(b"a\nb\n", b"a\nb\n", b"a\nb\n"), "equal runs, equal candidate")
    c.check(not m(b"a\nb\n", b"a\nb\n", b"a\nb"), "equal runs: a missing newline differs")
    c.check(m(b"t 1.5 s\n", b"t 2.25 s\n", b"t 9 s\n"), "a number that varies may be any")
    c.check(not m(b"t 1.5 s\n", b"t 2.25 s\n", b"t x s\n"), "but a number")
    c.check(not m(b"t 1.5 s\n", b"t 2.25 s\n", b"x 9 s\n"), "words GNU keeps must stay")
    c.check(m(b"1\n2\n", b"2\n1\n", b"2\n1\n"), "order GNU varies may vary")
    c.check(not m(b"1\n2\n", b"2\n1\n", b"1\n3\n"), "but the lines must be GNU's")
    c.check(m(b"a\nb\nz\n", b"a\nc\nd\nz\n", b"a\nq\nr\nz\n"), "a varying span, within counts")
    c.check(not m(b"a\nb\nz\n", b"a\nc\nd\nz\n", b"a\nq\nr\ns\nt\nz\n"), "too many lines")
    v = outcmp.compare(b"x\n", 1, b"x\n", 1, b"x\n", 0)
    c.check(not v.ok and v.first_diff.startswith("exit status"), "exit status compared")
    v = outcmp.compare(b"x\ny\n", 0, b"x\ny\n", 0, b"x\nz\n", 0)
    c.check("line 2" in v.first_diff, f"first difference named: {v.first_diff}")


def run_suite(c: Checks, args, label: str, cand: Path, expect: dict):
    out = args.work / f"{label}.json"
    cmd = [sys.executable, str(HERE / "gnusuite.py"), "--suite", str(args.work / "suite"),
           "--gnu", str(args.gnu), "--candidate", str(cand), "--work", str(args.work / label),
           "--json", str(out), "--timeout", "60", "--fresh"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    c.check(proc.returncode == 0, f"{label}: gnusuite.py exits 0 ({proc.stderr[-500:]})")
    if not out.exists():
        return
    got = {r["function"].split(":", 1)[1]: r for r in json.loads(out.read_text())}
    c.check(set(got) == set(expect), f"{label}: functions found {sorted(got)}")
    for name, (cat, det, result) in expect.items():
        r = got.get(name, {})
        seen = (r.get("category"), r.get("gnu_deterministic"), r.get("result"))
        c.check(seen == (cat, det, result), f"{label}: {name} is {seen}, want {(cat, det, result)}"
                f" ({r.get('first_diff', '')})")
    kept = args.work / label / "runs" / "selftest-local" / "par_export_f" / "gnu1.out"
    c.check(kept.exists() and kept.read_bytes() == b"ok 1\nok 2\n",
            f"{label}: a function exported to jobs reaches them through the recorder and stdout")
    if label == "broken":
        c.check("EXTRA" in got["par_same"]["first_diff"], "broken: the extra line is named")
        c.check(["tag-string", "unknown"] in got["par_tagstring"]["refused"],
                f"broken: --tagstring unknown ({got['par_tagstring']['refused']})")
        c.check("tag" in got["par_home"]["options"], "options from ~/.parallel/config are seen")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--gnu", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    tests = args.work / "suite" / "tests-to-run"
    tests.mkdir(parents=True)
    (args.work / "suite" / "input-files").mkdir()
    (tests / "selftest-local.sh").write_text(SUITE)
    broken = args.work / "broken"
    broken.mkdir()
    gnu = str((args.gnu / "parallel").resolve())
    (broken / "parallel").write_text(BROKEN.replace("{gnu}", gnu))
    (broken / "parallel").chmod(0o755)
    c = Checks()
    comparator(c)
    run_suite(c, args, "gnu", args.gnu, GNU_EXPECT)
    run_suite(c, args, "broken", broken, BROKEN_EXPECT)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
