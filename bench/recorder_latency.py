#!/usr/bin/env python3
"""The latency the buildhist Recorder adds to buildbot's step completion.

Runs a real buildbot 3.7 master and worker (python/tests/buildbot_fixture.py: child
processes in a temporary directory, on Unix sockets) once without and once with
`buildhist.buildbot.Recorder` in master.cfg's services (sides alternate when
--rounds > 1), forces --builds builds of one builder whose --steps shell steps each
print --lines lines, and measures for every step:

    from  the step's command finishing on the worker: the last line each command
          prints is `date +%s.%N`, read back from the step's log through buildbot's
          REST API;
    to    buildbot announcing the step complete: the time.time() at which a small
          service in the same master.cfg receives the step's ('steps', id,
          'finished') message, which buildbot sends after it has committed the
          step's end (and finished its logs) in its own database.

Master and worker run on the same machine, so both times come from one clock. The
interval covers the worker sending the command's last output and exit status, the
master writing them to its database, finishing the logs and the step: exactly the
work that the Recorder's reads of buildbot's data API (which share buildbot's one
SQLite thread) and its callbacks on the reactor could delay. buildbot's own
started_at/complete_at are whole seconds, too coarse for this. The builds are all
forced at once (collapseRequests off), so the Recorder is recording build N while
buildbot runs build N+1, as on a busy master.

Also printed per side: the wall time from the first force to the last build's end,
and, with the Recorder, how long after that its store had every build recorded
complete.

    PYTHONPATH=build-release/python python3 bench/recorder_latency.py --builds 100
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "tests"))

import buildhist  # noqa: E402  (after the path to the fixture)
from buildbot_fixture import Buildbot, wait_for  # noqa: E402

MASTER_CFG = r'''
import time
from twisted.internet import defer
from buildbot.plugins import schedulers, steps, util, worker
from buildbot.util import service


class StepClock(service.BuildbotService):
    """Appends "stepid time" to a file for every step buildbot announces finished."""
    name = "stepclock"

    @defer.inlineCallbacks
    def startService(self):
        yield super().startService()
        self._out = open(%(clock)r, "a", buffering=1)
        self._consumer = yield self.master.mq.startConsuming(
            self._finished, ("steps", None, "finished"))

    def _finished(self, key, step):
        self._out.write(f"{step['stepid']} {time.time():.6f}\n")

    @defer.inlineCallbacks
    def stopService(self):
        self._consumer.stopConsuming()
        self._out.close()
        yield super().stopService()


lines = "i=0; while [ $i -lt %(lines)d ]; do echo line $i of some output; i=$((i+1)); done"
factory = util.BuildFactory([
    steps.ShellCommand(name=f"step{n}", command=["sh", "-c", f"{lines}; date +%%s.%%N"])
    for n in range(%(steps)d)])

c = BuildmasterConfig = {}
c["workers"] = [worker.Worker("w1", "pass")]
c["protocols"] = {"pb": {"port": %(pb)r}}
c["www"] = {"port": %(www)r, "plugins": {}}
c["buildbotURL"] = %(url)r
c["db"] = {"db_url": "sqlite:///state.sqlite"}
c["buildbotNetUsageData"] = None
c["collapseRequests"] = False
c["builders"] = [util.BuilderConfig(name="b", workernames=["w1"], factory=factory)]
c["schedulers"] = [schedulers.ForceScheduler(name="force", builderNames=["b"])]
c["services"] = [StepClock()]
'''

RECORDER = '''
from buildhist.buildbot import Recorder
c["services"].append(Recorder(db=%(db)r))
'''


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def run_side(shape, with_recorder, keep):
    root = tempfile.mkdtemp(prefix="buildhist-latency-")
    clock = os.path.join(root, "clock")
    cfg = MASTER_CFG + (RECORDER if with_recorder else "")
    bb = None
    try:
        bb = Buildbot(root, cfg, values={"clock": clock, "lines": shape.lines, "steps": shape.steps})
        bb.start_master()
        bb.start_worker()
        bb.wait_for_worker()
        began = time.monotonic()
        for _ in range(shape.builds):
            bb.force("b")
        wait_for("the builds", lambda: not bb.get("buildrequests?complete=false")["buildrequests"],
                 deadline_s=shape.deadline)
        wall = time.monotonic() - began
        lag = None
        if with_recorder:
            def recorded():
                store = buildhist.Store.open(bb.db, read_only=True)
                return sum(b.complete_at is not None
                           for b in buildhist.History(store).builds("b", limit=0)) == shape.builds
            wait_for("the Recorder", recorded, deadline_s=shape.deadline)
            lag = time.monotonic() - began - wall
        finished = {}
        with open(clock) as f:
            for row in f:
                stepid, t = row.split()
                finished[int(stepid)] = float(t)
        latencies = []
        for build in bb.get("builds")["builds"]:
            assert build["results"] == 0, build
            for step in bb.get(f"builds/{build['buildid']}/steps")["steps"]:
                if not step["name"].startswith("step"):
                    continue  # buildbot's own worker_preparation: no command
                log = bb.get(f"steps/{step['stepid']}/logs/stdio")["logs"][0]
                chunks = bb.get(f"logs/{log['logid']}/contents")["logchunks"]
                out = [line[1:] for line in "".join(c["content"] for c in chunks).splitlines()
                       if line.startswith("o")]
                latencies.append(finished[step["stepid"]] - float(out[-1]))
        assert len(latencies) == shape.builds * shape.steps, len(latencies)
        return latencies, wall, lag
    finally:
        if bb is not None:
            bb.stop_all()
        if keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--builds", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--lines", type=int, default=20, help="lines each step prints")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each side, alternating; the figures pool them")
    parser.add_argument("--deadline", type=float, default=1800,
                        help="seconds the builds of one run may take")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    shape = parser.parse_args()
    results = {False: [], True: []}
    walls = {False: [], True: []}
    lags = []
    for round_ in range(shape.rounds):
        order = (False, True) if round_ % 2 == 0 else (True, False)
        for with_recorder in order:
            latencies, wall, lag = run_side(shape, with_recorder, shape.keep)
            results[with_recorder] += latencies
            walls[with_recorder].append(wall)
            if lag is not None:
                lags.append(lag)
            side = "with Recorder" if with_recorder else "without"
            print(f"round {round_ + 1}, {side}: {shape.builds} builds in {wall:.1f} s, "
                  f"step completion median {statistics.median(latencies) * 1e3:.1f} ms, "
                  f"p99 {percentile(latencies, 99) * 1e3:.1f} ms"
                  + (f"; store level {lag:.1f} s after the last build" if lag is not None else ""),
                  flush=True)
    print(f"\n{shape.rounds} round(s) of {shape.builds} builds x {shape.steps} steps "
          f"({shape.lines} lines each); step completion latency, command end -> "
          f"buildbot's 'finished' message:")
    figures = {}
    for with_recorder in (False, True):
        values = results[with_recorder]
        figures[with_recorder] = (statistics.median(values), percentile(values, 99))
        print(f"  {'with Recorder' if with_recorder else 'without':13s}  "
              f"median {figures[with_recorder][0] * 1e3:7.1f} ms  "
              f"p99 {figures[with_recorder][1] * 1e3:7.1f} ms  "
              f"({len(values)} steps; {statistics.median(walls[with_recorder]):.1f} s "
              f"for the builds, median of runs)")
    print(f"  {'added':13s}  median {(figures[True][0] - figures[False][0]) * 1e3:7.1f} ms  "
          f"p99 {(figures[True][1] - figures[False][1]) * 1e3:7.1f} ms")
    print(f"  Recorder's store level {max(lags):.1f} s (max) after buildbot's last build ended")


if __name__ == "__main__":
    main()
