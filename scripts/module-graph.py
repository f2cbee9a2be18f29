#!/usr/bin/env python3
"""The import graph of hrun's library (src/, without main.rs and src/bin/): which file uses which.

Reads every `crate::`, `super::` and `self::` path in the library's files (test modules at the
end of a file left out), resolves each to the file that defines it, and prints

  files: N   file arrows: N   module arrows: N   circles: N

where a file arrow is one file using another, and a module arrow one top-level module (a file
or folder right under src/) using another. Exits 1, naming the files and lines that close the
circle, when top-level modules use each other in a circle (a <-> b, or a -> b -> c -> a): a
module's readers should be able to read it without first reading the modules that use it.

Usage: scripts/module-graph.py [--arrows] [SRC]   (--arrows also lists the module arrows)
"""
import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::\w+)*)(::\{)?")


def module_of(rel):
    """src-relative file -> module path: exec/mod.rs -> [exec], exec/spawn.rs -> [exec, spawn]."""
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def library_text(path):
    """A file's code without comments and without the test module that ends it."""
    text = open(path, encoding="utf-8").read()
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod \w+", text, re.M)
    if cut:
        text = text[: cut.start()]
    return re.sub(r"//[^\n]*", "", text)


def braces(text, start):
    """The use tree from text[start] (just after `{`) to its closing brace: (items, end)."""
    items, depth, item = [], 0, ""
    i = start
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                items.append(item)
                return items, i
            depth -= 1
        if c == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += c
        i += 1
    return items, i


def expand(prefix, item):
    """Paths named by one item of a use tree (`a::b`, `a::{b, c}`, `self`, `*`)."""
    item = re.sub(r"\s+as\s+\w+", "", item.strip())
    if not item:
        return []
    m = re.match(r"((?:\w+|\*)(?:::\w+)*)(?:::\{)?", item)
    if not m:
        return []
    segs = [s for s in m.group(1).split("::") if s not in ("self", "*")]
    if item[m.end() - 1] == "{" and m.group(0).endswith("{"):
        inner, _ = braces(item, m.end())
        return [p for i in inner for p in expand(prefix + segs, i)]
    return [prefix + segs]


def paths_in(text, here):
    """(absolute path, line) for each crate/super/self path in a file whose module is `here`."""
    found = []
    for m in PATH.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        segs = [s for s in m.group(2).split("::") if s]
        base = {"crate": [], "self": list(here)}.get(m.group(1))
        if base is None:  # super, possibly super::super::...
            base = list(here[:-1])
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        if m.group(3):
            inner, _ = braces(text, m.end())
            found += [(p, line) for i in inner for p in expand(base + segs, i)]
        else:
            found.append((base + segs, line))
    return found


def main():
    args = [a for a in sys.argv[1:] if a != "--arrows"]
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            rel = os.path.relpath(os.path.join(root, name), src)
            if name.endswith(".rs") and rel != "main.rs" and not rel.startswith("bin/"):
                files[tuple(module_of(rel))] = rel
    file_arrows, module_arrows = set(), {}
    for here, rel in sorted(files.items()):
        for path, line in paths_in(library_text(os.path.join(src, rel)), list(here)):
            target = next((tuple(path[:n]) for n in range(len(path), -1, -1) if tuple(path[:n]) in files), None)
            if target is None or target == here:
                continue
            file_arrows.add((here, target))
            if here and target and here[0] != target[0]:
                module_arrows.setdefault((here[0], target[0]), f"src/{rel}:{line}")
    circles = strongly_connected(module_arrows)
    print(f"files: {len(files)}   file arrows: {len(file_arrows)}   "
          f"module arrows: {len(module_arrows)}   circles: {len(circles)}", flush=True)
    if "--arrows" in sys.argv:
        for (a, b), at in sorted(module_arrows.items()):
            print(f"  {a} -> {b}   ({at})")
    for members in circles:
        print(f"circle between {', '.join(sorted(members))}:", file=sys.stderr)
        for (a, b), at in sorted(module_arrows.items()):
            if a in members and b in members:
                print(f"  {a} -> {b}   first at {at}", file=sys.stderr)
    return 1 if circles else 0


def strongly_connected(arrows):
    """The groups of two or more modules that reach each other (Tarjan's algorithm)."""
    graph = {}
    for a, b in arrows:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


if __name__ == "__main__":
    sys.exit(main())
