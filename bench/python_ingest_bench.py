#!/usr/bin/env python3
"""Ingest of the reference workload's shape (docs/workload.md) through the Python
module, one master thread, default durability, timed from the open store to the
return of flush(): builds/s and log lines/s, to set beside `buildhist simulate`
(the C++ write path, same shape, --threads 1) in the same build.

Same shape as the C++ workload (builders interleaved, 8 steps named git, configure,
..., one stdio log of 50 lines appended in 5 pieces, three properties, 90% success,
4% failure with the later steps skipped, ...), the same calls as workload::write_build,
and log lines of the same kinds of templates, made on the clock as a master would;
the random choices differ from the C++ generator's, so the stores are not
byte-identical. Lines are drawn from a pool of 4096 made at the start (see
line_pool), a C call per line, so that the figure is of the module, not of
Python's random module.

    PYTHONPATH=build-release/python /usr/bin/python3 bench/python_ingest_bench.py
"""

import argparse
import os
import random
import tempfile
import time

import buildhist
from buildhist import Results

STEPS = ["git", "configure", "compile", "test", "lint", "package", "upload", "cleanup"]


# Log lines are drawn from a pool made once (on the clock) from the workload's
# templates, by rng.choices, a piece at a time: making 400 lines a build one
# randrange at a time cost five times what writing them through the module costs, so
# the figure measured Python's random module, not the module. The pool's lines have
# the templates' kinds, proportions and lengths; compile lines get their line number
# when drawn.
COMPILE = "\0"  # marks a compile line's tail in the pool


POOL_BITS = 12


def line_pool(rng):
    pool = []
    for _ in range(1 << POOL_BITS):
        kind = rng.randrange(10)
        if kind == 0:
            pool.append(f"ewarning: unused variable 'tmp_{rng.randrange(20)}' [-Wunused-variable]\n")
        elif kind < 4:
            pool.append(f"o test_parser_{rng.randrange(1000):04d} ... ok (0.{rng.randrange(1000):03d}s)\n")
        else:
            pool.append(f"{COMPILE}Building CXX object src/net/CMakeFiles/net.dir/"
                        f"socket_{rng.randrange(40)}.cpp.o\n")
    return pool


def compile_prefixes(total):
    return [f"o[{number:3d}/{total}] " for number in range(total)]


def piece_text(rng, pool, prefixes, first, count):
    """Lines first .. first+count-1 of a log, each ending in \\n."""
    bits = rng.getrandbits
    text = [pool[bits(POOL_BITS)] for _ in range(count)]
    for i, drawn in enumerate(text):
        if drawn[0] == COMPILE:
            text[i] = prefixes[first + i] + drawn[1:]
    if first == 0:
        text[0] = f"hargv: ['make', '-j{2 + rng.randrange(15)}', 'all']\n"
    return "".join(text)


def write_build(store, rng, pool, prefixes, shape, builder_index, number):
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
            log.append(piece_text(rng, pool, prefixes, piece * per, per))
        log.finish()
        lines += per * shape.appends
        step_results = (Results.SUCCESS if failing is None or index < failing
                        else Results.FAILURE if index == failing else Results.SKIPPED)
        step.set_state_string(buildhist.results_name(step_results))
        step.finish(step_results, t + 5)
    build.set_state_string(buildhist.results_name(results))
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
        pool, prefixes = line_pool(rng), compile_prefixes(shape.log_lines)
        lines = 0
        for number in range(1, shape.builds + 1):
            for builder_index in range(shape.builders):
                lines += write_build(store, rng, pool, prefixes, shape, builder_index, number)
        store.flush()
        seconds = time.perf_counter() - began
        builds = shape.builds * shape.builders
        print(f"python: {builds} builds, {lines} log lines in {seconds:.2f} s: "
              f"{builds / seconds:.0f} builds/s, {lines / seconds:.0f} log lines/s")
        del store


if __name__ == "__main__":
    main()
