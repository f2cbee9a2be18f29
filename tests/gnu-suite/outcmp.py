"""Does a candidate's output match GNU's, allowing only what differs between two GNU runs?

Two GNU runs of a function make the model. Where they agree the candidate must agree byte for
byte; where a line differs between them (a time, a PID, a temp name), the words that differ may
be anything in the candidate's line (a number where both were numbers, a word where both were
words); where the runs differ in lines (counts), the candidate may hold any lines there, as many
as the GNU runs held at least and at most; and if the two GNU runs hold the same lines in another
order, the candidate must hold those lines, in any order. The exit status must be GNU's, or
either of GNU's two when they differ.
"""

import difflib
import re
from dataclasses import dataclass

TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[A-Za-z_]+|\s+|.", re.S)
NUMBER = r"\d+(?:[.,:]\d+)*"
WORD = r"[A-Za-z_]+"
MAX_REGEX_TEXT = 400_000  # above this, differing line counts are not modelled (too slow)


@dataclass
class Verdict:
    ok: bool
    first_diff: str  # "" when ok


def lines(data: bytes) -> list:
    return data.decode("latin-1").split("\n")


def line_pattern(a: str, b: str) -> str:
    """A regex for one line: a's words where b agrees, anything where they differ."""
    ta, tb = TOKEN.findall(a), TOKEN.findall(b)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(re.escape("".join(ta[i1:i2])))
        elif i2 - i1 == 1 == j2 - j1 and all(re.fullmatch(NUMBER, t) for t in (ta[i1], tb[j1])):
            out.append(NUMBER)  # a time, a PID, a count: any number, but a number
        elif i2 - i1 == 1 == j2 - j1 and all(re.fullmatch(WORD, t) for t in (ta[i1], tb[j1])):
            out.append(WORD)
        elif not out or out[-1] != "[^\n]*?":
            out.append("[^\n]*?")
    return "".join(out)


def model_regex(l1: list, l2: list) -> re.Pattern:
    parts = []
    sm = difflib.SequenceMatcher(None, l1, l2, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            parts += [re.escape(x) + "\n" for x in l1[i1:i2]]
        elif op == "replace" and i2 - i1 == j2 - j1:
            parts += [line_pattern(a, b) + "\n" for a, b in zip(l1[i1:i2], l2[j1:j2])]
        else:
            lo, hi = sorted((i2 - i1, j2 - j1))
            parts.append("(?:[^\n]*\n){%d,%d}" % (lo, hi))
    return re.compile("".join(parts), re.S)


def first_diff(expected: list, got: list) -> str:
    for i, (a, b) in enumerate(zip(expected, got)):
        if a != b:
            return f"line {i + 1}: GNU `{show(a)}` / candidate `{show(b)}`"
    if len(expected) > len(got):
        return f"line {len(got) + 1}: GNU `{show(expected[len(got)])}` / candidate: no more lines"
    if len(got) > len(expected):
        return f"line {len(expected) + 1}: GNU: no more lines / candidate `{show(got[len(expected)])}`"
    return ""


def show(s: str, width: int = 90) -> str:
    s = s.encode("latin-1").decode("utf-8", errors="replace")
    s = "".join(c if c.isprintable() else "\\x%02x" % ord(c) if ord(c) < 256 else "?" for c in s)
    s = s.replace("`", "'").replace("|", "\\|")
    return s if len(s) <= width else s[: width - 3] + "..."


def matches(g1: bytes, g2: bytes, cand: bytes) -> bool:
    if g1 == g2:
        return cand == g1
    l1, l2, lc = lines(g1), lines(g2), lines(cand)
    if sorted(l1) == sorted(l2):
        # Only the order varies: the candidate must print the same lines, in any order.
        return sorted(lc) == sorted(l1)
    if len(l1) == len(l2):
        if len(lc) != len(l1):
            return False
        for a, b, c in zip(l1, l2, lc):
            if c != a and c != b and not re.fullmatch(line_pattern(a, b), c, re.S):
                return False
        return True
    if len(g1) + len(g2) > MAX_REGEX_TEXT:
        return False
    return model_regex(l1, l2).fullmatch(cand.decode("latin-1") + "\n") is not None


def compare(g1: bytes, rc1: int, g2: bytes, rc2: int, cand: bytes, rc: int) -> Verdict:
    out_ok = matches(g1, g2, cand)
    rc_ok = rc in (rc1, rc2)
    if out_ok and rc_ok:
        return Verdict(True, "")
    if not out_ok:
        return Verdict(False, first_diff(lines(g1), lines(cand)) or "output (lines GNU varies)")
    return Verdict(False, f"exit status: GNU {rc1}" + (f"/{rc2}" if rc2 != rc1 else "")
                   + f", candidate {rc}")
