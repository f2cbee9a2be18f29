"""GNU parallel's test suite as a list of functions, and what each needs before it can run here.

A tests-to-run/*.sh script defines par_* functions and ends with its runner (`export -f $(compgen
-A function | grep par_)` and a parallel over the names). What comes before the runner is sourced
by bash in a sandbox with PATH emptied, so the functions, the helpers the script exports and the
variables it exports come out exactly as the runner would hand them to each function, while the
script's own top-level commands find nothing to run.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import sandbox

RUNNER = re.compile(r"^(export -f \$\(compgen -A function|compgen -A function)", re.M)
EXTRACT_SH = r"""# Defines what a test script defines, with nothing to run (PATH is empty), and writes it out.
declare -A __gs_base
for __gs_v in $(compgen -e); do __gs_base[$__gs_v]=${!__gs_v}; done
__gs_dump() {
  local f v
  for f in $(compgen -A function); do
    [[ $f == __gs_* ]] && continue
    [[ $f == par_* ]] && export -f "$f"
    declare -f -- "$f" > "/srv/out/fn/$f"
  done
  declare -fx > /srv/out/defs.sh
  for v in $(compgen -e); do
    case $v in PWD|OLDPWD|SHLVL|_|PATH|__gs_*) continue ;; esac
    [[ -v __gs_base[$v] && ${__gs_base[$v]} == "${!v}" ]] && continue
    declare -p -- "$v"
  done > /srv/out/vars.sh
  echo done > /srv/out/ok
}
trap __gs_dump EXIT
PATH=/nonexistent
. /srv/prelude.sh
"""

# Static reasons a function is not run here (checked on its text and the helpers it calls).
STATIC_RULES = [
    ("remote", r"\b(ssh|scp|sshpass|autossh|lsh|vagrant|vagrantssh)\b|@lo\b|\$SSHLOGIN|"
               r"\$SERVER\d|--(sshlogin|slf|sshloginfile|onall|nonall|transfer|trc|return|"
               r"basefile|controlmaster|filter-hosts)\b|PARALLEL_SSH"),
    ("database", r"--sql|\bsql\s|\$(MYSQL|PG|SQLITE|CSV|INFLUX)\b|\b(sqlite3?|pg|mysql|csv|"
                 r"influx)://|\bp_wrapper\b"),
    ("privileged", r"\b(sudo|su|killall|pkill|mount|umount|chown|useradd|adduser|deluser)\s"),
    ("network", r"\b(ping|curl|wget|nc|telnet)\s"),
    ("outside", r"/var/tmp|/run/shm|/usr/share/|>\s*/etc/"),
]


@dataclass
class Function:
    script: str  # tests-to-run/<script>.sh without .sh
    name: str
    text: str  # its definition and those of the helpers it calls
    static: str = ""  # category from the text, if it is not run here
    static_why: str = ""

    @property
    def ident(self) -> str:
        return f"{self.script}:{self.name}"


@dataclass
class Script:
    base: str
    path: Path
    has_runner: bool
    runner: str = ""
    defs: str = ""
    vars: str = ""
    functions: list = field(default_factory=list)
    error: str = ""


def find_scripts(suite: Path) -> list:
    """The tests-to-run scripts that define par_* functions, sorted."""
    out = []
    for path in sorted((suite / "tests-to-run").glob("*.sh")):
        text = path.read_text(errors="surrogateescape")
        if not re.search(r"^par_\S*\s*\(\)", text, re.M):
            continue
        m = RUNNER.search(text)
        runner = text[m.start():] if m else ""
        out.append(Script(path.stem, path, bool(m), runner))
    return out


def prelude(script: Script) -> str:
    text = script.path.read_text(errors="surrogateescape")
    m = RUNNER.search(text)
    return text[: m.start()] if m else text


def extract(script: Script, work: Path, gnu: sandbox.Program, binds: list) -> None:
    """Fills script.defs, .vars and .functions from a sandboxed, command-less source of it."""
    box = work / "extract" / script.base / "box"
    env = sandbox.lay_out(box, gnu, f"{script.base}-tmpdir", EXTRACT_SH,
                          {"prelude.sh": prelude(script)})
    (box / "srv" / "out" / "fn").mkdir(parents=True)
    res = sandbox.run(box, env, 60, binds)
    out = box / "srv" / "out"
    if not (out / "ok").exists():
        script.error = "extraction failed: " + res.stderr.decode(errors="replace")[-300:]
        return
    script.defs = (out / "defs.sh").read_text(errors="surrogateescape")
    script.vars = (out / "vars.sh").read_text(errors="surrogateescape")
    bodies = {p.name: p.read_text(errors="surrogateescape") for p in (out / "fn").iterdir()}
    for name in sorted(n for n in bodies if n.startswith("par_")):
        text = with_helpers(name, bodies)
        fn = Function(script.base, name, text)
        fn.static, fn.static_why = static_category(script, text)
        script.functions.append(fn)


def with_helpers(name: str, bodies: dict) -> str:
    """The function's text and, transitively, that of the non-test functions it names."""
    seen, todo, texts = {name}, [name], []
    while todo:
        cur = todo.pop()
        texts.append(bodies[cur])
        for other in bodies:
            if other not in seen and not other.startswith("par_") and \
                    re.search(r"(^|[^\w-])" + re.escape(other) + r"($|[^\w-])", bodies[cur]):
                seen.add(other)
                todo.append(other)
    return "\n".join(texts)


def static_category(script: Script, text: str) -> tuple:
    if not script.has_runner:
        whole = script.path.read_text(errors="surrogateescape")
        if re.search(r"compgen -A function \| grep par_", whole) and "-S $SSHLOGIN" in whole:
            return "remote", "the script runs its functions on a remote host (env_parallel -S)"
        return "not-a-test", "the script calls it itself (no par_* runner)"
    if re.search(r"(-S|--sshlogin)\s*\$SSHLOGIN|-S \S|env_parallel.*-S", script.runner):
        return "remote", "the script runs its functions on remote hosts"
    if re.search(r"\$(MYSQL|PG|SQLITE|CSV)", script.runner):
        return "database", "the script runs its functions against databases"
    code = strip_comments(text)
    for category, rule in STATIC_RULES:
        m = re.search(rule, code)
        if m:
            return category, m.group(0).strip()
    return "", ""


def strip_comments(text: str) -> str:
    """Drops whole-line comments and `echo '### ...'` titles, which name things they do not run."""
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") or re.match(r"""echo\s+["']#""", s):
            continue
        lines.append(line)
    return "\n".join(lines)
