"""Which GNU parallel options a function used, and whether the parallel under test takes them.

The recorder in front of parallel (sandbox.RECORDER) saves each call's arguments during the GNU
runs; gnu_options.pl reads them with GNU's own option table and parser. Each option use is then
tried on its own against the parallel under test (a probe: `parallel --dry-run OPTION [VALUE] true
::: x y`, with GNU's parallel beside it): refused when the candidate fails where GNU does not.
"""

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import sandbox

HERE = Path(__file__).resolve().parent
PARSER = HERE / "gnu_options.pl"

# Categories an option puts a function in (GNU's own names, the first of each option's aliases).
REMOTE = {
    "sshlogin", "sshloginfile", "onall", "nonall", "transfer", "transfer-file", "return",
    "cleanup", "basefile", "trc", "controlmaster", "ssh", "ssh-delay", "filter-hosts", "hgrp",
    "rsync-opts",
}
DATABASE = {"sql", "sql-master", "sql-worker", "sql-and-worker"}
PIPE = {
    "pipe", "pipe-part", "block-size", "block-timeout", "recstart", "recend", "regexp",
    "remove-rec-sep", "round-robin", "cat", "fifo", "tee", "group-by", "shard", "bin",
}


@dataclass
class Use:
    """One option as a test wrote it: GNU's name, the alias written, the words, the value."""

    name: str
    written: str
    words: tuple
    value: object
    source: str  # argv, env ($PARALLEL) or config (~/.parallel/config)


@dataclass
class Calls:
    uses: list = field(default_factory=list)
    unknown_to_gnu: set = field(default_factory=set)
    count: int = 0


class Table:
    """GNU's option table: name -> (aliases, type), from the installed GNU parallel."""

    def __init__(self, gnu_parallel: str):
        self.gnu = gnu_parallel
        out = subprocess.run(["perl", str(PARSER), gnu_parallel, "--spec"], check=True,
                             capture_output=True).stdout
        self.spec = json.loads(out)

    def takes_value(self, name: str) -> str:
        """'' for a flag, '=' for a required value, ':' for an optional one."""
        t = self.spec.get(name, {}).get("type", "")
        return t[:1] if t[:1] in ("=", ":") else ""

    def short_alias(self, name: str, char: str) -> bool:
        return char in self.spec.get(name, {}).get("aliases", [])

    def parse(self, records: list) -> Calls:
        """Records are (called_as, $PARALLEL, config, args) from sandbox.spy_records."""
        calls = Calls(count=len(records))
        if not records:
            return calls
        lines = []
        for called_as, env, config, args in records:
            argv = (["--semaphore"] if called_as == "sem" else []) + args
            lines.append(json.dumps({"argv": argv, "env": env, "config": config},
                                    ensure_ascii=True))
        proc = subprocess.run(["perl", str(PARSER), self.gnu, "--parse"], check=True,
                              input="\n".join(lines).encode() + b"\n", capture_output=True)
        for (called_as, env, config, args), line in zip(records, proc.stdout.splitlines()):
            parsed = json.loads(line.decode("latin-1"))  # JSON::PP ->latin1 writes bytes
            argv = parsed["read"]
            consumed = argv[: len(argv) - len(parsed["rest"])]
            in_argv = [o for o in parsed["opts"] if o[2] == "argv"]
            calls.uses += self.align(consumed, in_argv)
            for o in parsed["opts"]:
                if o[2] != "argv":
                    calls.uses.append(Use(o[0], o[0], self.words(o[0], o[0], o[1]), o[1], o[2]))
            for err in parsed["errors"]:
                if err.startswith("Unknown option: "):
                    calls.unknown_to_gnu.add("--" + err.split(": ", 1)[1]
                                             if len(err.split(": ", 1)[1]) > 1
                                             else "-" + err.split(": ", 1)[1])
        return calls

    def words(self, name: str, written: str, value) -> tuple:
        flag = ("-" if len(written) == 1 else "--") + written
        kind = self.takes_value(name)
        if not kind or value is None or (kind == ":" and value == ""):
            return (flag,)
        if kind == ":":
            # An optional value must be attached, or GNU would not read it as the value.
            return (flag + value,) if len(written) == 1 else (f"{flag}={value}",)
        return (flag, value)

    def align(self, tokens: list, opts: list) -> list:
        """Matches GNU's parse (in order) to the words as written, to know each alias used."""
        uses, i, j = [], 0, 1
        for name, value, source in opts:
            if name == "shebang-wrap" or name == "shebang" or i >= len(tokens):
                uses.append(Use(name, name, self.words(name, name, value), value, source))
                continue
            tok = tokens[i]
            if tok.startswith("--") and j == 1:
                written = tok[2:].split("=", 1)[0]
                i += 1
                if "=" not in tok and self.takes_value(name) == "=" and i < len(tokens):
                    i += 1
                elif ("=" not in tok and self.takes_value(name) == ":" and value
                      and i < len(tokens) and tokens[i] == value):
                    i += 1
            elif tok.startswith("-") and len(tok) > j:
                written = tok[j]
                kind = self.takes_value(name)
                if kind and len(tok) > j + 1:
                    i, j = i + 1, 1
                elif kind == "=":
                    i, j = i + 2, 1
                elif kind == ":":
                    i, j = i + 1, 1
                    if value and i < len(tokens) and tokens[i] == value:
                        i += 1
                else:
                    j += 1
                    if j >= len(tok):
                        i, j = i + 1, 1
            else:
                written = name
            if written != name and written not in self.spec.get(name, {}).get("aliases", []):
                # An abbreviation (--res) is kept as written: it is what the test typed.
                pass
            uses.append(Use(name, written, self.words(name, written, value), value, source))
        return uses


def category_of(names: set) -> str:
    if names & REMOTE:
        return "remote"
    if names & DATABASE:
        return "database"
    if names & PIPE:
        return "pipe"
    return ""


PROBE_SH_HEAD = """# Each probe: `parallel --dry-run WORDS true ::: x y` in a fresh directory, nothing on stdin.
probe() {
  local n=$1; shift
  mkdir -p "/tmp/probe/$n" && cd "/tmp/probe/$n" || return
  timeout 20 parallel --dry-run "$@" true ::: x y < /dev/null > /dev/null 2> "/srv/out/$n.err"
  echo $? > "/srv/out/$n.rc"
}
"""
UNKNOWN = re.compile(r"unexpected argument|unknown option|unrecognized option", re.I)


def probe(words_list: list, program: sandbox.Program, box: Path, binds: list) -> list:
    """Runs each probe with PROGRAM; returns (exit status, first line of stderr) per probe."""
    body = [PROBE_SH_HEAD]
    for n, words in enumerate(words_list):
        body.append(f"probe {n} " + " ".join(sandbox.shq(w) for w in words))
    env = sandbox.lay_out(box, program, "probe-tmpdir", "\n".join(body) + "\n", {})
    (box / "srv" / "out").mkdir()
    sandbox.run(box, env, 60 + 25 * len(words_list), binds)
    out = []
    for n in range(len(words_list)):
        rc_file, err_file = box / "srv/out" / f"{n}.rc", box / "srv/out" / f"{n}.err"
        rc = int(rc_file.read_text().strip() or 255) if rc_file.exists() else 255
        err = err_file.read_bytes().decode(errors="replace") if err_file.exists() else ""
        first = next((ln for ln in err.splitlines() if ln.strip()), "")
        out.append((rc, first))
    return out


def verdict(gnu: tuple, cand: tuple) -> tuple:
    """(status, message): accepted, unknown (not an option there) or refused (it says no)."""
    rc_c, msg = cand
    if rc_c == 0:
        return "accepted", ""
    if UNKNOWN.search(msg):
        return "unknown", msg
    if gnu[0] == 0:
        return "refused", msg
    # GNU fails too (e.g. -a with a file only the test makes): the probe cannot tell.
    return "accepted", ""
