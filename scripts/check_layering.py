#!/usr/bin/env python3
"""Checks edgesim's floors (docs/architecture.md) from every #include of the tree.

    check_layering.py [ROOT]

Floors, from the ground up:
  core     sim/core/            includes only sim/core/
  models   models/              includes only models/ and sim/core/
  traces   traces/              includes only traces/ and sim/core/
  engine   sim/ (outside core and cli)  includes core, models, traces, engine
  cli      sim/cli/             anything below, and itself
  main     sim/main.cpp         anything
and no cycle between folders (models/npu -> models/memory -> models/npu, say).
Prints one line per violation (file:line: rule) and exits 1 if there is any, 0 if not.
Third-party headers (<...> outside the tree) and quoted headers the tree does not hold
(generated files) are not the checker's business.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_DIRS = ("sim", "models", "traces")
ALLOWED = {
    "core": {"core"},
    "models": {"core", "models"},
    "traces": {"core", "traces"},
    "engine": {"core", "models", "traces", "engine"},
    "cli": {"core", "models", "traces", "engine", "cli"},
    "main": {"core", "models", "traces", "engine", "cli", "main"},
}
RULES = {
    "core": "sim/core/ includes only sim/core/",
    "models": "models/ includes only models/ and sim/core/",
    "traces": "traces/ includes only traces/ and sim/core/",
    "engine": "the engine (sim/ outside sim/core/ and sim/cli/) never includes sim/cli/",
    "cli": "sim/cli/ includes what is below it",
    "main": "",
}


def floor(path):
    """The floor of a repository-relative path, or None outside the layered folders."""
    parts = path.split("/")
    if parts[0] == "models":
        return "models"
    if parts[0] == "traces":
        return "traces"
    if parts[0] == "sim":
        if len(parts) > 1 and parts[1] == "core":
            return "core"
        if len(parts) > 1 and parts[1] == "cli":
            return "cli"
        if path == "sim/main.cpp":
            return "main"
        return "engine"
    return None


def unit(path):
    """The folder a file belongs to for the cycle check: its directory, except that sim/core
    with its subfolders is one foundation, and sim/main.cpp stands alone above the CLI."""
    if path.startswith("sim/core/"):
        return "sim/core"
    if path == "sim/main.cpp":
        return path
    return os.path.dirname(path)


def resolve(root, src, target, quoted):
    """The repository-relative path an include names, or None when it is not in the tree."""
    if target.split("/")[0] in SOURCE_DIRS and os.path.exists(os.path.join(root, target)):
        return target
    if quoted:
        rel = os.path.normpath(os.path.join(os.path.dirname(src), target))
        if os.path.exists(os.path.join(root, rel)):
            return rel.replace(os.sep, "/")
    if target.split("/")[0] in SOURCE_DIRS:
        return target  # a project path that does not exist: still judged by its floor
    return None


def includes(root):
    """(file, line, target) for every include of a layered source file."""
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp", ".h", ".cc")):
                    continue
                full = os.path.join(dirpath, name)
                src = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, encoding="utf-8", errors="replace") as f:
                    for lineno, text in enumerate(f, 1):
                        m = INCLUDE.match(text)
                        if not m:
                            continue
                        target = resolve(root, src, m.group(2), m.group(1) == '"')
                        if target is not None:
                            yield src, lineno, target


def folder_cycles(edges):
    """Strongly connected components of more than one folder (Tarjan's algorithm)."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check(root):
    problems = []
    edges = {}  # (folder, folder) -> first include that makes the edge
    for src, lineno, target in includes(root):
        a, b = floor(src), floor(target)
        if b not in ALLOWED[a]:
            problems.append(f"{src}:{lineno}: includes {target}: {RULES[a]}")
        fa, fb = unit(src), unit(target)
        if fa != fb:
            edges.setdefault((fa, fb), f"{src}:{lineno}")
    for comp in folder_cycles(edges.keys()):
        where = "; ".join(f"{a} -> {b} at {edges[(a, b)]}" for (a, b) in sorted(edges)
                          if a in comp and b in comp)
        problems.append(f"folder cycle {' <-> '.join(comp)}: {where}: folders must not include each other")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    if problems:
        print(f"layering: {len(problems)} violation(s) (docs/architecture.md gives the floors)")
        return 1
    print("layering: every include keeps to its floor, and no folders include each other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
