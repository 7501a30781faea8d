#!/usr/bin/env python3
"""Ingest of the reference workload's shape (docs/workload.md) through the Python
module, one master thread, default durability, timed from the open store to the
return of flush(): builds/s and log lines/s, to set beside `buildhist simulate`
(the C++ write path, same shape, --threads 1) in the same build.

Same shape as the C++ workload (builders interleaved, 8 steps named git, configure,
..., one stdio log of 50 lines appended in 5 pieces, three properties, 90% success,
4% failure with the later steps skipped, ...), with log lines made from the same
kinds of templates, generated on the clock as a master would; the random choices
differ from the C++ generator's, so the stores are not byte-identical.

    PYTHONPATH=build-rel/python python3 bench/python_ingest_bench.py --builds 200
"""

import argparse
import os
import random
import tempfile
import time

import buildhist
from buildhist import Results

STEPS = ["git", "configure", "compile", "test", "lint", "package", "upload", "cleanup"]


def line(rng, number):
    if number == 0:
        return f"hargv: ['make', '-j{2 + rng.randrange(15)}', 'all']"
    kind = rng.randrange(10)
    if kind == 0:
        return f"ewarning: unused variable 'tmp_{rng.randrange(20)}' [-Wunused-variable]"
    if kind < 4:
        return f"o test_parser_{rng.randrange(1000):04d} ... ok (0.{rng.randrange(1000):03d}s)"
    return (f"o[{number:3d}/311] Building CXX object src/net/CMakeFiles/net.dir/"
            f"socket_{rng.randrange(40)}.cpp.o")


def write_build(store, rng, shape, builder_index, number):
    builder = f"builder-{builder_index:02d}"
    start = 1700000000 + ((number - 1) * shape.builders + builder_index) * 60
    roll = rng.random()
    results = (Results.SUCCESS if roll < 0.90 else Results.WARNINGS if roll < 0.95
               else Results.FAILURE if roll < 0.99 else Results.EXCEPTION)
    failing = rng.randrange(shape.steps) if results == Results.FAILURE else None
    build = store.start_build(builder, worker=f"worker-{number % 4}", started_at=start,
                              properties=[("buildername", f'"{builder}"', "Builder"),
                                          ("got_revision", f'"{rng.getrandbits(160):040x}"', "Git"),
                                          ("workername", f'"worker-{number % 4}"', "Worker")])
    lines = 0
    for index in range(shape.steps):
        t = start + index * 5
        name = STEPS[index % 8] + (f"_{index // 8 + 1}" if index >= 8 else "")
        step = build.add_step(name, t)
        log = step.add_log("stdio", "s")
        per = shape.log_lines // shape.appends
        for piece in range(shape.appends):
            log.append("".join(line(rng, n) + "\n" for n in range(piece * per, (piece + 1) * per)))
        log.finish()
        lines += per * shape.appends
        step_results = (Results.SUCCESS if failing is None or index < failing
                        else Results.FAILURE if index == failing else Results.SKIPPED)
        step.finish(step_results, t + 5)
    build.finish(results, start + shape.steps * 5)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--builders", type=int, default=10)
    parser.add_argument("--builds", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--log-lines", type=int, default=50)
    parser.add_argument("--appends", type=int, default=5)
    shape = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        began = time.perf_counter()
        store = buildhist.Store.open(path)
        lines = 0
        for number in range(1, shape.builds + 1):
            for builder_index in range(shape.builders):
                lines += write_build(store, rng, shape, builder_index, number)
        store.flush()
        seconds = time.perf_counter() - began
        builds = shape.builds * shape.builders
        print(f"python: {builds} builds, {lines} log lines in {seconds:.2f} s: "
              f"{builds / seconds:.0f} builds/s, {lines / seconds:.0f} log lines/s")
        del store


if __name__ == "__main__":
    main()
