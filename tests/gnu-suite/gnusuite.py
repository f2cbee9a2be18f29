#!/usr/bin/env python3
"""GNU parallel's par_* test functions, run with GNU's parallel twice and a candidate once.

Started by compare.sh (see its header for the usage). Runs, in order: extraction of each script's
functions (suite.py), each function in its sandbox (sandbox.py) with GNU's parallel twice and the
candidate once (again on a difference), the option probes (options.py), the comparison
(outcmp.py) and the report (report.py). GNU's runs are kept in the work directory and reused
while the function, GNU's parallel and this runner are unchanged.
"""

import argparse
import concurrent.futures
import hashlib
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import options
import outcmp
import report
import sandbox
import suite

RUNNER_VERSION = "3"  # bump when what a test sees changes (sandbox.sh, helpers/, RUN_SH)
RUN_SH = """# One par_* function as GNU's runner runs it: the functions and variables its script exported,
# in a bash started for it, its stderr into its stdout (the runner's '{{}} 2>&1').
. /srv/defs.sh
for __gs_f in $(compgen -A function); do export -f "$__gs_f"; done
unset __gs_f
. /srv/vars.sh
exec /bin/bash -c {cmd}
"""
# Programs GNU's testsuite/REQUIREMENTS installs (and tangetools): "X: not found" for one of these
# means this machine lacks it; for any other name it is the test's own nonexistent command.
KNOWN_TOOLS = set("""
ash bash busybox csh dash fish fizsh ksh ksh93 mksh posh rc rush sash tcsh yash zsh
expect autossh sshpass jq gawk lua lua5.3 clisp php node nodejs csharp tcl tclsh xterm emacs
gnuplot octave ruby R Rscript python python2 python3 perl pod2pdf convert pv tmux script strace
zstd clzip lz4 lzop pigz pixz gzip plzip pbzip2 lzma xz lzip bzip2 lbzip2 lrzip pxz bc seq
mysql psql sqlite3 influx stdout field forever mytime timestamp tracefile memusage ramusage
niceload sem sql parcat parset parsort env_parallel vagrant rsync lsh timeout
""".split())
NOT_FOUND = re.compile(rb"(?m)(?:^|: )(?:line \d+: )?([\w.+-]+): (?:command )?not found$"
                       rb"|bad interpreter: No such file or directory"
                       rb"|^[^\n]*?([\w.+-]+): No such file or directory$")


@dataclass
class Outcome:
    fn: suite.Function
    category: str = ""
    why: str = ""
    gnu_det: str = ""  # yes / no / "" (not known)
    result: str = "not run"
    first_diff: str = ""
    calls: options.Calls = field(default_factory=options.Calls)
    refused: list = field(default_factory=list)  # (Use, status, message)
    cand_out: bytes = b""
    gnu_out: bytes = b""


class Runner:
    def __init__(self, args, gnu: sandbox.Program, cand: sandbox.Program, table, binds, gnu_sha):
        self.args, self.gnu, self.cand, self.table, self.binds = args, gnu, cand, table, binds
        self.gnu_sha = gnu_sha

    def run_one(self, script: suite.Script, fn: suite.Function, program, label: str):
        d = self.args.work / "runs" / fn.script / fn.name
        box = d / "box"
        cmd = sandbox.shq(f"{fn.name} 2>&1")
        env = sandbox.lay_out(box, program, f"{fn.script}-tmpdir", RUN_SH.format(cmd=cmd),
                              {"defs.sh": script.defs, "vars.sh": script.vars})
        res = sandbox.run(box, env, self.args.timeout, self.binds)
        records = sandbox.spy_records(box)
        (d / f"{label}.out").write_bytes(res.stdout)
        meta = {"key": self.key(script, fn), "rc": res.rc, "timed_out": res.timed_out,
                "seconds": round(res.seconds, 2), "records": records,
                "stderr": res.stderr.decode(errors="replace")[-2000:]}
        (d / f"{label}.json").write_text(json.dumps(meta))
        return res, records

    def key(self, script, fn) -> str:
        h = hashlib.sha256()
        for part in (RUNNER_VERSION, self.gnu_sha, script.defs, script.vars, fn.name,
                     str(self.args.timeout)):
            h.update(part.encode(errors="surrogateescape") + b"\0")
        for helper in sorted(sandbox.HELPERS.iterdir()):  # the stand-ins the function calls
            if re.search(r"\b" + re.escape(helper.name) + r"\b", fn.text):
                h.update(helper.read_bytes() + b"\0")
        return h.hexdigest()

    def candidate_run(self, script, fn, label):
        """The candidate's run; kept ones only with --reuse-candidate (the candidate unchanged)."""
        if self.args.reuse_candidate:
            return self.gnu_run(script, fn, label, self.cand)
        return self.run_one(script, fn, self.cand, label)

    def gnu_run(self, script, fn, label, program=None):
        """GNU's run, from the work directory when it is still valid."""
        d = self.args.work / "runs" / fn.script / fn.name
        meta_path = d / f"{label}.json"
        if not self.args.fresh and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("key") == self.key(script, fn):
                out = (d / f"{label}.out").read_bytes()
                res = sandbox.Result(out, b"", meta["rc"], meta["timed_out"], meta["seconds"])
                return res, [tuple(r[:3]) + (r[3],) for r in meta["records"]]
        d.mkdir(parents=True, exist_ok=True)
        return self.run_one(script, fn, program or self.gnu, label)

    def function(self, script: suite.Script, fn: suite.Function) -> Outcome:
        try:
            return self.compare_function(script, fn)
        except Exception as e:  # one function's trouble must not lose the others' results
            return Outcome(fn, category="error", why=f"{type(e).__name__}: {e}"[:300],
                           result="error")

    def compare_function(self, script: suite.Script, fn: suite.Function) -> Outcome:
        o = Outcome(fn, category=fn.static, why=fn.static_why)
        if fn.static:
            return o
        if self.args.skip and re.search(self.args.skip, fn.script):
            o.category, o.why = "long", f"script matches --skip '{self.args.skip}'"
            return o
        g1, rec1 = self.gnu_run(script, fn, "gnu1")
        o.calls = self.table.parse(rec1)
        o.gnu_out = g1.stdout
        if g1.timed_out:
            o.result = "GNU timeout"
            return o
        dyn, why = self.dynamic_category(o, g1.stdout)
        if dyn:
            o.category, o.why = dyn, why
            o.result = "not compared"
            return o
        g2, rec2 = self.gnu_run(script, fn, "gnu2")
        more = self.table.parse(rec2)
        o.calls.uses += more.uses
        o.calls.unknown_to_gnu |= more.unknown_to_gnu
        if g2.timed_out:
            o.result = "GNU timeout"
            return o
        o.gnu_det = "yes" if (g1.stdout, g1.rc) == (g2.stdout, g2.rc) else "no"
        for attempt in (1, 2) if self.args.rerun else (1,):
            slug = re.sub(r"[^A-Za-z0-9]+", "-", self.args.label).strip("-")
            c, _ = self.candidate_run(script, fn, f"{slug}-{attempt}")
            o.cand_out = c.stdout
            if c.timed_out:
                o.result, o.first_diff = "candidate timeout", f"no end in {self.args.timeout}s"
                continue
            v = outcmp.compare(g1.stdout, g1.rc, g2.stdout, g2.rc, c.stdout, c.rc)
            if v.ok:
                o.result, o.first_diff = ("pass" if attempt == 1 else "pass on rerun"), ""
                break
            o.result, o.first_diff = "fail", v.first_diff
        return o

    def dynamic_category(self, o: Outcome, out: bytes) -> tuple:
        names = {u.name for u in o.calls.uses}
        cat = options.category_of(names)
        if cat in ("remote", "database"):
            return cat, "uses --" + sorted(names & (options.REMOTE | options.DATABASE))[0]
        for m in NOT_FOUND.finditer(out):
            tool = (m.group(1) or m.group(2) or b"").decode(errors="replace")
            if m.group(0).startswith(b"bad interpreter") or (
                    tool in KNOWN_TOOLS and not shutil.which(tool)):
                return "missing-tool", (tool or "a #! interpreter") + " is not installed"
        if b"Read-only file system" in out:
            return "outside", "writes outside its directories (read-only here)"
        return "", ""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--suite", type=Path, required=True, help="GNU's testsuite/ directory")
    p.add_argument("--gnu", type=Path, required=True, help="directory holding GNU's parallel")
    p.add_argument("--candidate", type=Path, required=True, help="directory holding parallel")
    p.add_argument("--label", default="candidate", help="name of the candidate in the report")
    p.add_argument("--work", type=Path, required=True, help="work directory (kept, reused)")
    p.add_argument("--out", type=Path, help="write the results as Markdown here")
    p.add_argument("--json", type=Path, help="write one record per function here (JSON)")
    p.add_argument("--readme", type=Path,
                   help="rewrite this file's generated list of the functions that differ")
    p.add_argument("--command", default="", help="the command line to name in the results")
    p.add_argument("--jobs", type=int, default=2, help="functions run at once")
    p.add_argument("--timeout", type=int, default=300, help="seconds per run of a function")
    p.add_argument("--filter", default="", help="only functions whose script:name matches")
    p.add_argument("--skip", default="mem|100s|300s|polar",
                   help="scripts not run (GNU's `make short` leaves out the same)")
    p.add_argument("--fresh", action="store_true", help="rerun GNU even if its runs are kept")
    p.add_argument("--reuse-candidate", action="store_true",
                   help="reuse the candidate's kept runs too (to remake the report only)")
    p.add_argument("--no-rerun", dest="rerun", action="store_false",
                   help="do not run a differing candidate a second time")
    return p.parse_args(argv)


def main(argv) -> int:
    args = parse_args(argv)
    why = sandbox.check_available()
    if why:
        print(f"gnu-suite: cannot sandbox the tests: {why}", file=sys.stderr)
        return 2
    started = time.time()
    gnu = sandbox.program_for("GNU", args.gnu)
    cand = sandbox.program_for(args.label, args.candidate)
    gnu_path = str(args.gnu / "parallel")
    gnu_sha = hashlib.sha256(Path(gnu_path).read_bytes()).hexdigest()
    table = options.Table(gnu_path)
    binds = [(str((args.suite / "input-files").resolve()), "testsuite/input-files")]
    scripts = suite.find_scripts(args.suite)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda s: suite.extract(s, args.work, gnu, binds), scripts))
    for s in scripts:
        if s.error:
            print(f"gnu-suite: {s.base}: {s.error}", file=sys.stderr)
    runner = Runner(args, gnu, cand, table, binds, gnu_sha)
    todo = [(s, f) for s in scripts for f in s.functions
            if not args.filter or re.search(args.filter, f.ident)]
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(runner.function, s, f): f for s, f in todo}
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            o = fut.result()
            outcomes.append(o)
            print(f"[{n}/{len(todo)}] {o.fn.ident}: {o.category or '-'} {o.result}",
                  file=sys.stderr, flush=True)
    probe_all(outcomes, gnu, cand, args, binds)
    outcomes.sort(key=lambda o: o.fn.ident)
    meta = {"command": args.command, "label": args.label, "seconds": time.time() - started,
            "gnu": gnu_path, "candidate": str(args.candidate / "parallel"), "skip": args.skip,
            "timeout": args.timeout, "filter": args.filter,
            "reuse_candidate": args.reuse_candidate,
            "unsorted_scripts": [s.base for s in scripts if s.error]}
    text = report.plain(outcomes, meta)
    print(text)
    if args.out:
        args.out.write_text(report.markdown(outcomes, meta))
    if args.json:
        args.json.write_text(json.dumps([record(o) for o in outcomes], indent=1))
    if args.readme:
        report.write_readme(args.readme, outcomes, meta)
    return 0


def record(o: Outcome) -> dict:
    return {"function": o.fn.ident, "category": o.category, "why": o.why,
            "gnu_deterministic": o.gnu_det, "result": o.result, "first_diff": o.first_diff,
            "options": sorted({u.name for u in o.calls.uses}),
            "refused": sorted({(u.name, status) for u, status, _ in o.refused})}


def probe_all(outcomes, gnu, cand, args, binds):
    """Probes every option use once with each program; GNU's answers are kept between runs."""
    words = sorted({u.words for o in outcomes for u in o.calls.uses})
    cache_path = args.work / "gnu-probes-2.json"  # -2: probes end in ::: x y
    cache = json.loads(cache_path.read_text()) if cache_path.exists() and not args.fresh else {}
    key = lambda w: json.dumps(w)  # noqa: E731
    missing = [w for w in words if key(w) not in cache]
    for w, res in zip(missing, options.probe(missing, gnu, args.work / "probe-gnu", binds)):
        cache[key(w)] = res
    cache_path.write_text(json.dumps(cache))
    cand_res = dict(zip(words, options.probe(words, cand, args.work / "probe-cand", binds)))
    for o in outcomes:
        seen = set()
        for u in o.calls.uses:
            status, msg = options.verdict(tuple(cache[key(u.words)]), cand_res[u.words])
            if status != "accepted" and (u.name, u.words) not in seen:
                seen.add((u.name, u.words))
                o.refused.append((u, status, msg))
        if o.category:
            continue
        names = {u.name for u in o.calls.uses}
        o.category = options.category_of(names) or ("refused" if o.refused else "accepted")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
