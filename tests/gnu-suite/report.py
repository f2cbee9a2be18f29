"""The comparison's tables: totals, the options to work on, the differences by cause, every row."""

import collections
import datetime
import re

import outcmp

NOT_RUN = {
    "not-a-test": "not a test (its script calls it, not GNU's runner)",
    "remote": "needs remote hosts (-S, --sshlogin, --slf, ssh)",
    "database": "needs a database (--sql*, sql)",
    "privileged": "needs privileges or touches others' processes (sudo, mount, killall)",
    "network": "needs the network",
    "outside": "writes outside its own directories",
    "missing-tool": "needs a program not installed here",
    "long": "long-running script, skipped (as GNU's `make short`)",
    "error": "the comparison itself failed on it (see its row)",
}
RUN = {
    "accepted": "uses only options the candidate accepts",
    "refused": "uses options the candidate refuses or does not know",
    "pipe": "uses --pipe/--pipepart or their companions",
}
ORDER = list(NOT_RUN) + ["pipe", "refused", "accepted"]


CAUSES = [
    (rb"\.hrun\.jsonl", "hrun's run log file appears in the working directory"),
    (rb"(^|/)sh: \d+: |^/bin/sh: |Syntax error", "commands run with /bin/sh (dash), not bash"),
    (rb"^hrun: (progress|\d+ task|run log|failed: )", "hrun's progress and summary lines"),
    (rb"^hrun: error: ", "hrun refuses this use (a value or a combination)"),
    (rb"^hrun: ", "hrun's other messages (notes, warnings)"),
]


def cause(o) -> str:
    """A first guess at why an output differs, from the first line where the candidate's does."""
    gnu, cand = o.gnu_out.split(b"\n"), o.cand_out.split(b"\n")
    if o.result == "candidate timeout":
        return "does not finish"
    if o.first_diff.startswith("exit status"):
        return "exit status only"
    if sorted(gnu) == sorted(cand):
        return "same lines, other order"
    i = next((k for k, (a, b) in enumerate(zip(gnu, cand)) if a != b), min(len(gnu), len(cand)))
    got = cand[i] if i < len(cand) else b""
    want = gnu[i] if i < len(gnu) else b""
    for rule, label in CAUSES:
        if re.search(rule, got):
            return label
    if re.match(rb"parallel: (Warning|Error)", want):
        return "GNU's warning or error is not given"
    if i >= len(cand) - 1:
        return "output ends early"
    return "other"


def flag(name: str) -> str:
    return ("-" if len(name) == 1 else "--") + name


def counts(outcomes) -> collections.Counter:
    return collections.Counter(o.category for o in outcomes)


def option_rows(outcomes) -> list:
    """Per GNU option the candidate turns down: how many functions need it, and in which form."""
    rows = collections.defaultdict(lambda: {"local": set(), "only": set(), "all": set(),
                                            "written": set(), "status": set(), "msg": ""})
    for o in outcomes:
        names = {u.name for u, _, _ in o.refused}
        for u, status, msg in o.refused:
            r = rows[u.name]
            r["all"].add(o.fn.ident)
            if o.category == "refused":
                r["local"].add(o.fn.ident)
                if names == {u.name}:
                    r["only"].add(o.fn.ident)
            r["written"].add(" ".join(u.words))
            r["status"].add(status)
            r["msg"] = r["msg"] or msg
    out = []
    for name, r in rows.items():
        out.append((len(r["local"]), len(r["only"]), len(r["all"]), name,
                    "/".join(sorted(r["status"])), sorted(r["written"]), r["msg"]))
    out.sort(key=lambda x: (-x[0], -x[2], x[3]))
    return out


def totals(outcomes) -> list:
    c = counts(outcomes)
    res = collections.Counter((o.category, o.result) for o in outcomes)
    rows = [("all par_* functions of the suite", len(outcomes), "")]
    for cat in NOT_RUN:
        if c[cat]:
            rows.append((f"not compared: {NOT_RUN[cat]}", c[cat], ""))
    timeouts = sum(n for (cat, r), n in res.items() if r == "GNU timeout")
    if timeouts:
        rows.append(("not compared: GNU's own run did not end in time", timeouts, ""))
    for cat in ("pipe", "refused", "accepted"):
        ran = [o for o in outcomes if o.category == cat and o.gnu_det]
        passed = sum(1 for o in ran if o.result.startswith("pass"))
        rows.append((f"compared, {RUN[cat]}", len(ran), f"{passed} pass"))
    return rows


def figures(outcomes) -> str:
    c = counts(outcomes)
    acc = [o for o in outcomes if o.category == "accepted" and o.gnu_det]
    passed = sum(1 for o in acc if o.result.startswith("pass"))
    det = sum(1 for o in outcomes if o.gnu_det == "yes")
    return (f"{passed} of the {len(acc)} functions that use only options the candidate accepts "
            f"give GNU's output (of {len(outcomes)} par_* functions); {c['refused']} use an "
            f"option it refuses or does not know; {c['remote']} need remote hosts, "
            f"{c['database']} a database, {c['pipe']} --pipe; GNU's own output was the same in "
            f"both runs for {det} of the functions compared.")


def plain(outcomes, meta) -> str:
    lines = [f"{'function':60} {'category':13} {'GNU det':7} {'result':17} first difference"]
    for o in outcomes:
        lines.append(f"{o.fn.ident[:60]:60} {o.category:13} {o.gnu_det or '-':7} "
                     f"{o.result:17} {o.first_diff or o.why}")
    lines.append("")
    for label, n, extra in totals(outcomes):
        lines.append(f"{n:5}  {label}" + (f" ({extra})" if extra else ""))
    lines.append("")
    lines.append(figures(outcomes))
    lines.append("")
    lines.append("options refused/unknown: local functions needing it, as only blocker, all")
    for loc, only, allf, name, status, written, msg in option_rows(outcomes):
        lines.append(f"{loc:4} {only:4} {allf:4}  {flag(name)} ({status}): "
                     f"{', '.join(written)[:80]}")
    return "\n".join(lines)


def md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(outcomes, meta) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# GNU parallel's own test suite: GNU parallel against {meta['label']}", "",
           f"Generated by `{meta['command']}` on {now} "
           f"({meta['seconds'] / 60:.0f} minutes; GNU's runs"
           + (" and the candidate's" if meta.get("reuse_candidate") else "")
           + " are those kept in the work directory, made by the same command"
           + (" without `--reuse-candidate`" if meta.get("reuse_candidate") else "")
           + " when no valid one was kept). Do not edit: rerun the command.", "",
           f"GNU: `{meta['gnu']}`; candidate: `{meta['candidate']}`; each run of a function "
           f"limited to {meta['timeout']} s; scripts skipped: `{meta['skip']}`"
           + (f"; functions matching `{meta['filter']}` only" if meta["filter"] else "") + ".", "",
           "Each `par_*` function of GNU's `testsuite/tests-to-run/*.sh` (release 20221122) ran "
           "in its own sandbox, as GNU's runner runs it, with GNU's `parallel` twice and the "
           "candidate once (twice when it differed); stdout (with stderr in it, as the runner's "
           "`{} 2>&1`) and the exit status must match, allowing only what differs between the "
           "two GNU runs. See `tests/gnu-suite/compare.sh`.", "",
           "**" + figures(outcomes) + "**", "", "## Totals", "", "| functions | count | |",
           "|---|---:|---|"]
    for label, n, extra in totals(outcomes):
        out.append(f"| {label} | {n} | {extra} |")
    out += ["", "## Options the candidate refuses or does not know", "",
            "Ranked by the functions that need the option and need neither remote hosts, a "
            "database nor `--pipe` (*local*); *only* counts those for which it is the only "
            "option turned down (accepting it makes them comparable); *all* counts every "
            "function that used it. Found by running each use alone: `parallel --dry-run "
            "OPTION true ::: x y`, refused where GNU succeeds and the candidate does not.", "",
            "| option | local | only | all | status | as the tests write it | the candidate says |",
            "|---|---:|---:|---:|---|---|---|"]
    for loc, only, allf, name, status, written, msg in option_rows(outcomes):
        shown = ", ".join(f"`{md_cell(w)}`" for w in written[:6])
        if len(written) > 6:
            shown += f" (+{len(written) - 6})"
        out.append(f"| `{flag(name)}` | {loc} | {only} | {allf} | {status} | {shown} | "
                   f"{md_cell(outcmp.show(msg, 110))} |")
    out += ["", "## Functions that use only accepted options but differ, by cause", "",
            "The cause is a first guess from what the candidate printed; the first difference "
            "is against GNU's first run.", ""]
    by_cause = collections.defaultdict(list)
    for o in outcomes:
        if o.category == "accepted" and o.gnu_det and not o.result.startswith("pass"):
            by_cause[cause(o)].append(o)
    for c, group in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
        out += [f"### {c} ({len(group)})", ""]
        out += [f"- `{o.fn.ident}`: {o.first_diff}" for o in group]
        out.append("")
    out += ["## Every function", "",
            "| function | category | GNU deterministic | result | first difference, or why not run |",
            "|---|---|---|---|---|"]
    for o in sorted(outcomes, key=lambda o: (ORDER.index(o.category) if o.category in ORDER
                                              else 99, o.fn.ident)):
        why = o.first_diff or o.why
        if o.category == "refused" and not why:
            why = "refused: " + ", ".join(sorted({" ".join(u.words) for u, _, _ in o.refused}))
        out.append(f"| `{md_cell(o.fn.ident)}` | {o.category} | {o.gnu_det or '-'} | {o.result} "
                   f"| {md_cell(why)} |")
    return "\n".join(out) + "\n"


README_START = "<!-- gnu-suite-differences: generated by tests/gnu-suite/compare.sh --readme -->"
README_END = "<!-- /gnu-suite-differences -->"


def readme_block(outcomes, meta) -> str:
    """The README's list: each function in scope (only accepted options, GNU deterministic)
    that still differs, one line each, with the first guess at why and where it first differs."""
    differ = [o for o in outcomes
              if o.category == "accepted" and o.gnu_det and not o.result.startswith("pass")]
    passed = sum(1 for o in outcomes if o.category == "accepted" and o.result.startswith("pass"))
    inscope = sum(1 for o in outcomes if o.category == "accepted")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out = [README_START, "",
           f"{passed} of the {inscope} functions in scope compared on {now} give GNU's output"
           + (" (a run with `--filter`: the functions in scope of the last full run and those "
              "using the options changed since)" if meta["filter"] else "") + ". "
           "Each that differs, with a first guess at why (from the first line that differs):", ""]
    out += [f"- `{o.fn.ident}`: {cause(o)}; {short(o.first_diff)}"
            for o in sorted(differ, key=lambda o: o.fn.ident)]
    out += ["", README_END]
    return "\n".join(out)


def short(diff: str, width: int = 110) -> str:
    """`diff` on one line, cut to `width`, its code spans closed."""
    s = md_cell(diff)
    if len(s) > width:
        s = s[: width - 3] + "..."
        if s.count("`") % 2:
            s += "`"
    return s


def write_readme(path, outcomes, meta) -> None:
    """Replaces the generated block of `path` (between its markers) with [`readme_block`]."""
    text = path.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"gnu-suite: {path} has no block {README_START!r} ... {README_END!r}")
    path.write_text(text[:start] + readme_block(outcomes, meta) + text[end + len(README_END):])

