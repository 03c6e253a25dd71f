#!/usr/bin/env python3
"""Counts what the architecture issue measures: long functions, unchecked Sendables,
nonisolated(unsafe) statics, public declarations, and the targets that link libmongoc.
Usage: scripts/code-metrics.py [--long N] [--list]"""
import os, re, sys, json

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LONG = int(sys.argv[sys.argv.index("--long") + 1]) if "--long" in sys.argv else 80
FUNC = re.compile(r'^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|private|fileprivate|static|final|override|mutating|nonmutating|nonisolated|class|@inlinable|convenience|required)\s+)*(?:func\s+[^\s(<]+|init[?!]?)\s*[(<]')

def strip(line):
    # drop string literals and line comments, roughly, before counting braces
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    i = line.find("//")
    return line if i < 0 else line[:i]

def functions(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    for i, l in enumerate(lines):
        if not FUNC.match(l) or l.strip().startswith("//"):
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            s = strip(lines[j])
            depth += s.count("{") - s.count("}")
            if "{" in s:
                opened = True
            if opened and depth <= 0:
                break
            if not opened and j > i + 15:
                break  # a protocol requirement
            j += 1
        if opened:
            out.append((j - i + 1, i + 1, l.strip()[:90]))
    return out

long_funcs, unchecked, unsafe, public = [], [], [], {}
for d, _, files in os.walk(os.path.join(ROOT, "Sources")):
    for f in files:
        if not f.endswith(".swift"):
            continue
        p = os.path.join(d, f)
        rel = os.path.relpath(p, ROOT)
        target = rel.split(os.sep)[1]
        text = open(p, encoding="utf-8").read()
        for n, line, sig in functions(p):
            if n > LONG:
                long_funcs.append((n, f"{rel}:{line}", sig))
        unchecked += [f"{rel}: {l.strip()}" for l in text.split("\n") if "@unchecked Sendable" in l and not l.strip().startswith("//")]
        unsafe += [f"{rel}: {l.strip()}" for l in text.split("\n") if "nonisolated(unsafe)" in l and not l.strip().startswith("//")]
        if target != "strata":
            n = len(re.findall(r'^\s*(?:@\w+\s+)*(?:\w+\s+)*public\s+(?:\w+\s+)*(?:func|var|let|init|struct|class|enum|protocol|typealias|case|subscript|static|actor)\b', text, re.M))
            n += len(re.findall(r'^\s*public\s+init', text, re.M)) * 0
            public[target] = public.get(target, 0) + n

links = []
pkg = open(os.path.join(ROOT, "Package.swift")).read()
deps = {m.group(1): re.findall(r'"(\w+)"', m.group(2)) for m in re.finditer(r'\.(?:target|executableTarget|testTarget)\(\s*name:\s*"(\w+)",\s*dependencies:\s*\[([^\]]*)\]', pkg)}
def reaches(t, seen=()):
    if t == "CMongoc":
        return True
    return any(reaches(d, seen + (t,)) for d in deps.get(t, []) if d not in seen)
links = sorted(t for t in deps if reaches(t))

long_funcs.sort(reverse=True)
report = {
    f"functions over {LONG} lines": len(long_funcs),
    "@unchecked Sendable": len(unchecked),
    "nonisolated(unsafe)": len(unsafe),
    "public declarations (library targets)": sum(public.values()),
    "public by target": public,
    "targets that link libmongoc": links,
}
print(json.dumps(report, indent=2))
if "--list" in sys.argv:
    for n, where, sig in long_funcs:
        print(f"{n:5}  {where}  {sig}")
    for u in unchecked + unsafe:
        print("  " + u)
