"""buildhist: a build-history store for CI masters, over SQLite.

The C++ library's objects and rules, from Python (docs/python.md is the contract):

    store = buildhist.Store.open("master.db")
    build = store.start_build("linux", worker="w1", started_at=now)
    step = build.add_step("compile", now)
    log = step.add_log("stdio", "s")
    log.append("ohello\\n")

A Python Build, Step or Log holds the library's own shared handle, so the cache's
identity holds across the language line: while one is alive, every lookup of its
key returns that same Python object. Failures raise buildhist.Error, whose `code`
is an ErrorCode and `message` the library's one line. Calls that can wait release
the GIL.
"""

import time

from buildhist._buildhist import (  # noqa: F401  (the package's API)
    Build, BuildDetail, BuilderSummary, BuildRecord, CacheStats, Durability, Error,
    ErrorCode, History, LogDetail, LogRecord, Log, Problem, Property, Results, Step,
    StepDetail, StepRecord, Store, StoreStats, Sync, Url, results_from_code,
    results_name, schema_version,
)

__all__ = [
    "Build", "BuildDetail", "BuilderSummary", "BuildRecord", "CacheStats", "Durability",
    "Error", "ErrorCode", "History", "LogDetail", "LogRecord", "Log", "Problem",
    "Property", "Results", "Step", "StepDetail", "StepRecord", "Store", "StoreStats",
    "Sync", "Url", "follow_log", "results_from_code", "results_name", "schema_version",
]


def follow_log(history, reference, first=0, poll=0.1):
    """Yields (number, text) for the lines of the log `reference` names
    (BUILDER/NUMBER/STEP/LOG) from line `first`, as they are committed by whichever
    process writes them, until the log is complete or its build is (a master that
    died before finishing the log). Checks for new lines every `poll` seconds.

    A generator: stopping early (break, close()) stops it at once. Raises Error
    (NOT_FOUND) if the log does not exist, or is deleted meanwhile.
    """
    builder, number = reference.split("/")[0:2]
    following = True
    while following:
        # The state first: once it says complete, every line was committed before
        # it, so the read that follows sees them all.
        detail = history.find_log(reference)
        following = not (detail.log.complete or _build_complete(history, builder, number))
        for line in history.read_log(detail, first):
            first = line[0] + 1
            yield line
        if following and first >= history.find_log(reference).log.num_lines:
            time.sleep(poll)


def _build_complete(history, builder, number):
    from urllib.parse import unquote
    return history.show(unquote(builder), int(number)).build.complete_at is not None
