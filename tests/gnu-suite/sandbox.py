"""One sandboxed run: a box directory laid out for sandbox.sh, run in fresh namespaces.

Every run (extracting a script's functions, one function with GNU's parallel or the candidate, a
probe of one option) gets a box of its own, emptied first, at a path that stays the same for the
runs of one function, so paths in their outputs compare equal. See sandbox.sh for what the run can
and cannot touch.
"""

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SANDBOX_SH = HERE / "sandbox.sh"
HELPERS = HERE / "helpers"
UNSHARE = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--ipc"]
# Start.sh exports these for every test script; the rest is a login's usual minimum.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/srv/home",
    "SHELL": "/bin/bash",
    "TERM": "dumb",
    "LANG": "C",
    "LC_ALL": "C",
    "TIMEOUT": "900",
}
# What the recorder writes before it runs the real program: the name it was called by, $PARALLEL,
# the config files GNU reads (unless --plain), then the arguments; NUL after each. In Perl, not sh:
# dash drops environment variables whose names are not identifiers, such as bash's exported
# functions (BASH_FUNC_f%%), and the tests export functions to their jobs.
RECORDER = r"""#!/usr/bin/perl
# Written by tests/gnu-suite: records how {name} was called, then runs the program under test.
use Fcntl;
my $cfg = "";
unless (grep {{ $_ eq "--plain" }} @ARGV) {{
    my $home = $ENV{{HOME}} // "";
    for my $f (($ENV{{PARALLEL_HOME}} // "$home/.parallel") . "/config", "$home/.parallelrc") {{
        if (open(my $fh, "<", $f)) {{ local $/; $cfg .= <$fh> . "\n"; }}
    }}
}}
for (1 .. 100) {{
    my $path = sprintf("/srv/spy/call.%d.%06d", $$, int(rand(1e6)));
    next unless sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_EXCL);
    print $fh map {{ "$_\0" }} "{name}", $ENV{{PARALLEL}} // "", $cfg, @ARGV;
    close $fh;
    last;
}}
my @real = ({real});
exec {{ $real[0] }} @real, @ARGV;
die "{name}: cannot run $real[0]: $!\n";
"""


@dataclass
class Program:
    """The parallel a run uses: how `parallel` and `sem` are exec'd (a Perl list each)."""

    label: str
    parallel: str
    sem: str


def program_for(label: str, directory: Path) -> Program:
    """GNU's sem is parallel called as sem; a candidate without its own sem gets --semaphore."""
    par = directory / "parallel"
    sem = directory / "sem"
    sem_cmd = plq(str(sem)) if os.access(sem, os.X_OK) else f"{plq(str(par))}, '--semaphore'"
    return Program(label, plq(str(par)), sem_cmd)


def plq(s: str) -> str:
    """A Perl single-quoted string."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Result:
    stdout: bytes
    stderr: bytes
    rc: int
    timed_out: bool
    seconds: float


def shq(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


def user_env() -> dict:
    name = pwd.getpwuid(os.getuid()).pw_name
    return {"USER": name, "LOGNAME": name}


def lay_out(box: Path, program: Program, tmpdir_name: str, run_sh: str, extra: dict) -> dict:
    """Empties BOX and lays it out; returns the environment run.sh will get."""
    if box.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(box)], check=True)
    for d in ("tmp", "ulb", "srv/home", "srv/spy", "srv/testsuite/input-files"):
        (box / d).mkdir(parents=True)
    os.chmod(box / "tmp", 0o1777)
    (box / "tmp" / tmpdir_name).mkdir()
    ulb = box / "ulb"
    for name, real in (("parallel", program.parallel), ("sem", program.sem)):
        (ulb / name).write_text(RECORDER.format(name=name, real=real))
        os.chmod(ulb / name, 0o755)
    for helper in HELPERS.iterdir():
        shutil.copy(helper, ulb / helper.name)
        os.chmod(ulb / helper.name, 0o755)
    for name, text in extra.items():
        (box / "srv" / name).write_text(text, errors="surrogateescape")
    (box / "srv" / "run.sh").write_text(run_sh, errors="surrogateescape")
    env = dict(BASE_ENV)
    env.update(user_env())
    env["TMPDIR"] = f"/tmp/{tmpdir_name}"
    return env


def run(box: Path, env: dict, timeout: float, binds: list) -> Result:
    """Runs srv/run.sh of BOX in the sandbox; stdout and stderr go to files in BOX."""
    envfile = box / "env"
    envfile.write_bytes(b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()))
    outs = {n: open(box / n, "w+b") for n in ("stdout", "stderr")}
    cmd = ["timeout", "-s", "KILL", str(int(timeout))] + UNSHARE
    cmd += ["--", "/bin/bash", str(SANDBOX_SH), str(box), str(envfile)]
    penv = {"PATH": BASE_ENV["PATH"], "GNUSUITE_BINDS": " ".join(f"{s}:{d}" for s, d in binds)}
    start = time.monotonic()
    with outs["stdout"], outs["stderr"]:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=outs["stdout"],
                              stderr=outs["stderr"], env=penv)
        seconds = time.monotonic() - start
        outs["stdout"].seek(0)
        outs["stderr"].seek(0)
        stdout, stderr = outs["stdout"].read(), outs["stderr"].read()
    # timeout(1) says 124 when it sent its signal; with -s KILL the status is 137 from the kill.
    timed_out = proc.returncode in (124, 137) and seconds >= timeout - 1
    return Result(stdout, stderr, proc.returncode, timed_out, seconds)


def spy_records(box: Path) -> list:
    """The recorder's records of one run: (name, $PARALLEL, config text, [args])."""
    out = []
    for rec in sorted((box / "srv" / "spy").glob("call.*")):
        fields = rec.read_bytes().split(b"\0")[:-1]
        if len(fields) < 3:
            continue
        dec = [f.decode("latin-1") for f in fields]
        out.append((dec[0], dec[1], dec[2], dec[3:]))
    return out


def check_available() -> str:
    """Empty when this machine can sandbox, else why not."""
    if os.getuid() != 0:
        return "needs root (mount namespaces, overlay and bind mounts)"
    for tool in ("unshare", "timeout", "ip", "perl", "script"):
        if not shutil.which(tool):
            return f"needs {tool}"
    probe = subprocess.run(UNSHARE + ["--", "/bin/true"], capture_output=True)
    if probe.returncode != 0:
        return "unshare failed: " + probe.stderr.decode(errors="replace").strip()
    return ""
