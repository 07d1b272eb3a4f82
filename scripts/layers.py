#!/usr/bin/env python3
"""The layering rule of docs/ARCHITECTURE.md, checked (make lint).

    core  <-  intake  <-  staff, push  <-  chat  <-  app  <-  fcgi, bot, admin

A file may include headers of its own layer and of the layers its layer
lists below; never one above it, never a program's private header from
another program. A public header include/zhuqi/X.h belongs to the layer of
the folder that holds X.c. Also refused: a cycle among the includes of
lib/ modules (X.c or X.h including Y.h and Y.c or Y.h including X.h, at any
length), and, given the objects of a build (--objects DIR), a cycle among
the objects of lib/ and the programs in who calls whom (nm), since a cycle of calls between
two files is one module written in two places.

Usage: scripts/layers.py [--objects build/release]
Exits 1 and names each offence; prints "layers: ok" otherwise.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What each layer may include besides itself.
ALLOWED = {
    "core": set(),
    "intake": {"core"},
    "staff": {"core", "intake"},
    "push": {"core", "intake"},
    "chat": {"core", "intake", "push"},
    "app": {"core", "intake", "staff", "push", "chat"},
    "fcgi": {"core", "intake", "staff", "push", "chat", "app"},
    "bot": {"core", "intake", "staff", "push", "chat", "app"},
    "admin": {"core", "intake", "staff", "push", "chat", "app"},
}
LIB_LAYERS = ("core", "intake", "staff", "push", "chat", "app")
PROGRAMS = ("fcgi", "bot", "admin")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def rel(p):
    return os.path.relpath(p, ROOT)


def sources():
    """Every .c and .h of lib/, the programs and include/zhuqi."""
    out = []
    for top in ("lib", "include/zhuqi") + PROGRAMS:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            out += [os.path.join(d, f) for f in files if f.endswith((".c", ".h"))]
    return sorted(out)


def layer_of_path(p):
    parts = rel(p).split(os.sep)
    if parts[0] == "lib" and len(parts) == 3 and parts[1] in LIB_LAYERS:
        return parts[1]
    if parts[0] in PROGRAMS:
        return parts[0]
    return None


def module_layers():
    """{module name: layer} from where each lib/*/X.c lives."""
    m = {}
    for layer in LIB_LAYERS:
        d = os.path.join(ROOT, "lib", layer)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith(".c"):
                    m[f[:-2]] = layer
    return m


def resolve(src, inc):
    """The file an #include "inc" of src names, or None (system-like)."""
    for base in (os.path.dirname(src), os.path.join(ROOT, "include"), ROOT):
        p = os.path.normpath(os.path.join(base, inc))
        if os.path.isfile(p):
            return p
    return None


def main():
    objects = None
    if len(sys.argv) == 3 and sys.argv[1] == "--objects":
        objects = sys.argv[2]
    elif len(sys.argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    mods = module_layers()
    bad = []
    graph = {}  # lib module -> lib modules it includes

    def layer_of_file(p):
        r = rel(p)
        if r.startswith("include/zhuqi/"):
            name = os.path.basename(r)[:-2]
            return mods.get(name)
        return layer_of_path(p)

    def module_of(p):
        r = rel(p)
        if r.startswith("include/zhuqi/") or r.startswith("lib/"):
            name = os.path.splitext(os.path.basename(r))[0]
            # a private header X_int.h beside X.c is part of module X
            return name[:-4] if name.endswith("_int") else name
        return None

    for src in sources():
        me = layer_of_file(src)
        if me is None:
            bad.append(f"{rel(src)}: no layer (a public header needs lib/<layer>/<name>.c)")
            continue
        text = open(src, encoding="utf-8", errors="replace").read()
        for inc in INCLUDE_RE.findall(text):
            target = resolve(src, inc)
            if target is None:
                bad.append(f"{rel(src)}: includes \"{inc}\", which is not in the tree")
                continue
            them = layer_of_file(target)
            if them is None:
                bad.append(f"{rel(src)}: includes {rel(target)}, which has no layer")
                continue
            if them != me and them not in ALLOWED[me]:
                bad.append(f"{rel(src)} ({me}) includes {rel(target)} ({them}): "
                           f"{me} may use only {', '.join(sorted(ALLOWED[me])) or 'itself'}")
            a, b = module_of(src), module_of(target)
            if a and b and a != b:
                graph.setdefault(a, set()).add(b)

    for cyc in cycles(graph):
        bad.append("include cycle: " + " -> ".join(cyc + [cyc[0]]))
    if objects:
        for cyc in cycles(call_graph(objects)):
            bad.append("call cycle between files: " + " -> ".join(cyc + [cyc[0]]))
    for b in bad:
        print("layers: " + b)
    if bad:
        print(f"layers: {len(bad)} offence(s)")
        return 1
    print("layers: ok")
    return 0


def call_graph(objdir):
    """{folder/y.c: {files whose symbols it uses}} from nm over objdir."""
    defs, uses = {}, {}
    folders = [os.path.join("lib", layer) for layer in LIB_LAYERS] + list(PROGRAMS)
    for folder in folders:
        d = os.path.join(ROOT, objdir, folder)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(".o"):
                continue
            name = f"{folder}/{f[:-2]}.c"
            out = subprocess.run(["nm", "-P", os.path.join(d, f)], capture_output=True,
                                 text=True, check=True).stdout
            uses[name] = set()
            for line in out.splitlines():
                sym, kind = line.split()[:2]
                if kind == "U":
                    uses[name].add(sym)
                elif kind in "TDBR":
                    defs[sym] = name
    return {n: {defs[s] for s in u if s in defs and defs[s] != n} for n, u in uses.items()}


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan),
    each as a list in a stable order."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
