#!/usr/bin/env python3
"""Checks that every include in src/ points down the layers src/meson.build gives.

A file in layer L may include the public headers (buildhist/...), its own layer
and the layers listed before L. Prints each include that breaks the rule and
exits 1 if there is any.

Usage: layering.py SRC_DIR LAYER...
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"', re.MULTILINE)


def main():
    src = pathlib.Path(sys.argv[1])
    layers = sys.argv[2:]
    rank = {layer: index for index, layer in enumerate(layers)}
    problems = []
    checked = 0
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        layer = path.relative_to(src).parts[0]
        if layer not in rank:
            problems.append(f"{path}: in no layer (add its folder to src/meson.build's layers)")
            continue
        checked += 1
        for included in INCLUDE.findall(path.read_text(encoding="utf-8")):
            if included == "buildhist":
                continue
            if included not in rank:
                problems.append(f"{path}: includes from {included}/, which is no layer")
            elif rank[included] > rank[layer]:
                problems.append(f"{path}: {layer} includes {included}/, a layer above it")
    for problem in problems:
        print(problem)
    print(f"{checked} files checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
