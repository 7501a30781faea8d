"""A real buildbot master and worker record into buildhist through the Recorder.

Starts Debian's buildbot 3.7 master and buildbot-worker in a temporary directory
(buildbot_fixture: child processes that listen on Unix sockets there, master.cfg
written here), forces builds through buildbot's REST API, waits for them by polling that API, then compares
every build, step, result, property, URL and log line in the buildhist store with
what buildbot's REST API returns. Meanwhile `buildhist builds` must show a running
build and `buildhist log --follow` must follow its log to the end. Then it stops
the master mid-build and starts it again: nothing duplicated, nothing lost.

Run by meson (the `python_buildbot` test) with PYTHONPATH at the build tree's
python/ and BUILDHIST_BIN the command; exits non-zero on a failure."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import buildhist
from buildbot_fixture import DEADLINE_S, Buildbot, wait_for

BUILDHIST_BIN = os.environ.get("BUILDHIST_BIN", "buildhist")

MASTER_CFG = r'''
from twisted.internet import defer
from buildbot.plugins import schedulers, steps, util, worker
from buildbot.process import buildstep
from buildhist.buildbot import Recorder


class Annotate(buildstep.BuildStep):
    """Sets a structured property, adds URLs and a log of its own."""
    name = "annotate"

    @defer.inlineCallbacks
    def run(self):
        number = self.build.number
        yield self.addURL("report", f"http://example.invalid/report/{number}")
        yield self.addURL("artifacts", f"http://example.invalid/a/{number}.tar")
        self.setProperty("annotated", {"number": number, "tags": ["x", "y"]}, "Annotate")
        log = yield self.addLog("notes")
        yield log.addStdout("note one\nnote two\n")
        yield log.finish()
        return util.SUCCESS


def shell(name, script, **kwargs):
    return steps.ShellCommand(name=name, command=["sh", "-c", script], **kwargs)


def await_file(path):
    """Shell that waits until the test creates `path`, and gives up (exit 1) after
    about two minutes, so that a test that died leaves no command running on."""
    return (f"n=0; while [ ! -e '{path}' ]; do n=$((n+1)); "
            f"[ $n -gt 1200 ] && exit 1; sleep 0.1; done")


def count(first, last):
    return f"i={first}; while [ $i -lt {last} ]; do echo line $i; i=$((i+1)); done"


factories = {
    "passes": [
        shell("hello", "echo to stdout; echo to stderr >&2; echo again"),
        steps.SetPropertyFromCommand(name="revision", command=["echo", "3f2a9c"],
                                     property="got_revision"),
        Annotate(),
    ],
    "fails": [
        shell("compile", "echo building; echo 'error: it broke' >&2; exit 3",
              haltOnFailure=True),
        shell("never", "echo not run"),
    ],
    # Half its lines, then the rest once the test is following its log.
    "slow": [
        shell("count", f"{count(0, 15)}; {await_file(%(follow)r)}; {count(15, 30)}"),
    ],
    "hold": [
        shell("wait", f"echo waiting; {await_file(%(go)r)}; echo released"),
    ],
}

c = BuildmasterConfig = {}
c["workers"] = [worker.Worker("w1", "pass")]
c["protocols"] = {"pb": {"port": %(pb)r}}
c["www"] = {"port": %(www)r, "plugins": {}}
c["buildbotURL"] = %(url)r
c["db"] = {"db_url": "sqlite:///state.sqlite"}
c["title"] = "buildhist test"
c["buildbotNetUsageData"] = None
c["builders"] = [util.BuilderConfig(name=name, workernames=["w1"],
                                    factory=util.BuildFactory(factory))
                 for name, factory in factories.items()]
c["schedulers"] = [schedulers.ForceScheduler(name="force", builderNames=list(factories))]
c["services"] = [Recorder(db=%(db)r)]
'''


class RecorderAgainstBuildbot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Class cleanups run even when setUpClass fails half way; last added, first run.
        cls.tmp = tempfile.mkdtemp(prefix="buildhist-buildbot-")
        cls.addClassCleanup(cls.remove_tmp)
        cls.go = os.path.join(cls.tmp, "go")  # releases the held build
        cls.following = os.path.join(cls.tmp, "following")  # releases the slow build
        cls.bb = Buildbot(cls.tmp, MASTER_CFG, values={"go": cls.go, "follow": cls.following})
        cls.addClassCleanup(cls.bb.stop_all)
        cls.bb.start_master()
        cls.bb.start_worker()
        cls.bb.wait_for_worker()

    @classmethod
    def remove_tmp(cls):
        if os.environ.get("BUILDHIST_KEEP_TMP"):
            print(f"kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def buildhist(self, *args):
        return subprocess.run([BUILDHIST_BIN, "--db", self.bb.db, *args], check=True,
                              capture_output=True, text=True, timeout=DEADLINE_S).stdout

    def recorded_complete(self, builds, names):
        """True once buildhist has each of `builds` complete. The Recorder records a
        build's end last, after its steps and logs, and the store commits writes in
        order: then everything buildbot has of those builds is in the store."""
        store = buildhist.Store.open(self.bb.db, read_only=True)
        for build in builds:
            ours = store.build(names[build["builderid"]], build["number"])
            if ours is None or not ours.complete:
                return False
        return True

    def assert_store_matches_buildbot(self):
        """Every build buildbot has, field by field and line by line, and no other.
        Called once buildbot is idle; waits for the Recorder, which follows buildbot's
        commits, to have recorded each build's end."""
        bb = self.bb
        names = {v: k for k, v in bb.builder_ids().items()}
        workers = {w["workerid"]: w["name"] for w in bb.get("workers")["workers"]}
        builds = bb.builds()
        self.assertTrue(all(b["complete"] for b in builds), "buildbot is not idle")
        wait_for("the Recorder to record every build's end",
                 lambda: self.recorded_complete(builds, names))
        store = buildhist.Store.open(bb.db, read_only=True)
        history = buildhist.History(store)
        recorded = {s.name: s.builds for s in history.builders()}
        expected = {}
        for build in builds:
            expected[names[build["builderid"]]] = expected.get(names[build["builderid"]], 0) + 1
        self.assertEqual(recorded, expected, "one buildhist build per buildbot build")
        for build in builds:
            detail = history.show(names[build["builderid"]], build["number"])
            ours = detail.build
            where = f"{ours.builder}/{ours.number}"
            self.assertEqual((ours.worker, ours.started_at, ours.complete_at, ours.state_string,
                              None if ours.results is None else int(ours.results)),
                             (workers[build["workerid"]], build["started_at"],
                              build["complete_at"], build["state_string"], build["results"]),
                             where)
            self.assertEqual({p.name: [json.loads(p.value), p.source] for p in detail.properties},
                             build["properties"], where)
            steps = bb.get(f"builds/{build['buildid']}/steps")["steps"]
            self.assertEqual(len(detail.steps), len(steps), where)
            for step, theirs in zip(detail.steps, steps):
                self.assert_step_matches(history, where, step, theirs)
        self.assertEqual(list(history.check()), [])
        return builds

    def assert_step_matches(self, history, where, step, theirs):
        s = step.step
        self.assertEqual(
            (s.number, s.name, s.started_at, s.complete_at, s.state_string,
             None if s.results is None else int(s.results), s.hidden,
             [{"name": u.name, "url": u.url} for u in s.urls]),
            (theirs["number"], theirs["name"], theirs["started_at"], theirs["complete_at"],
             theirs["state_string"], theirs["results"], theirs["hidden"], theirs["urls"]),
            f"{where}/{s.name}")
        logs = self.bb.get(f"steps/{theirs['stepid']}/logs")["logs"]
        self.assertEqual([(lg.slug, lg.name, lg.type, lg.num_lines, lg.complete)
                          for lg in step.logs],
                         [(lg["slug"], lg["name"], lg["type"], lg["num_lines"], lg["complete"])
                          for lg in logs], f"{where}/{s.name}")
        for log in logs:
            chunks = self.bb.get(f"logs/{log['logid']}/contents")["logchunks"]
            lines = "".join(c["content"] for c in chunks).splitlines()
            detail = history.find_log(f"{where}/{s.number}/{log['slug']}")
            self.assertEqual([t for _, t in history.read_log(detail)], lines,
                             f"{where}/{s.name}/{log['slug']}")

    def test_1_builds_are_recorded_as_buildbot_has_them(self):
        bb = self.bb
        for builder in ("passes", "fails", "passes"):
            bb.force(builder)
        wait_for("the builds", lambda: len(bb.builds()) == 3 and bb.idle())
        # While "slow" runs: `buildhist builds` lists it running, and `log --follow`
        # follows its log until the step finishes: the step prints lines 0-14, waits
        # until the follower has started, then prints lines 15-29.
        bb.force("slow")
        wait_for("the slow build to be recorded running, with lines in its log",
                 lambda: self.running_in_buildhist("slow") and self.log_recorded("slow/1/count/stdio"))
        follow = subprocess.Popen([BUILDHIST_BIN, "--db", bb.db, "--json", "log",
                                   "slow/1/count/stdio", "--follow"],
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(follow.stdout.close)
        self.addCleanup(follow.kill)  # a follower of a build that never ends would not end
        with open(self.following, "w"):
            pass
        wait_for("the slow build", lambda: len(bb.builds()) == 4 and bb.idle())
        followed, _ = follow.communicate(timeout=DEADLINE_S)
        self.assertEqual(follow.returncode, 0)
        lines = [json.loads(line) for line in followed.splitlines()]
        self.assertEqual([line["text"] for line in lines if line["stream"] == "o"],
                         [f"line {i}" for i in range(30)])
        self.assertEqual([line["line"] for line in lines], list(range(len(lines))))
        builds = self.assert_store_matches_buildbot()
        self.assertEqual(sorted({b["results"] for b in builds}), [0, 2])

    def log_recorded(self, reference):
        try:
            self.buildhist("log", reference, "--limit", "1")
            return True
        except subprocess.CalledProcessError:
            return False

    def running_in_buildhist(self, builder):
        if not os.path.exists(self.bb.db):
            return False
        try:
            out = self.buildhist("--json", "builds", builder)
        except subprocess.CalledProcessError:
            return False  # the builder is not recorded yet
        return any(json.loads(line)["results"] is None for line in out.splitlines())

    def test_2_a_restart_mid_build_duplicates_and_loses_nothing(self):
        bb = self.bb
        bb.force("hold")
        wait_for("the held build to print", lambda: self.hold_printed())
        wait_for("the held build to be recorded running",
                 lambda: self.running_in_buildhist("hold"))
        bb.stop_master()
        bb.start_master()
        bb.wait_for_worker()
        # buildbot ends the build it was running when it stopped: CANCELLED when its
        # shutdown stops the build first, RETRY (and the request runs again as a new
        # build) when the lost worker connection does; which comes first is buildbot's
        # race. Either way the interrupted build must be recorded as buildbot finished
        # it, once, and the builds after it numbered on from it.
        with open(self.go, "w"):
            pass
        bb.force("hold")
        wait_for("every build to end", lambda: bb.idle() and self.hold_done())
        builds = self.assert_store_matches_buildbot()
        hold = bb.builder_ids()["hold"]
        held = [(b["number"], b["results"]) for b in builds if b["builderid"] == hold]
        cancelled, retry, success = (int(r) for r in (buildhist.Results.CANCELLED,
                                                      buildhist.Results.RETRY,
                                                      buildhist.Results.SUCCESS))
        self.assertIn(held[0], [(1, cancelled), (1, retry)])
        self.assertEqual(held[1:], [(n, success) for n in range(2, len(held) + 1)])
        self.assertEqual(len(held), 3 if held[0][1] == retry else 2, held)

    def hold_printed(self):
        hold = self.bb.builder_ids()["hold"]
        builds = [b for b in self.bb.builds() if b["builderid"] == hold and not b["complete"]]
        return builds and any(s["started_at"] for s in
                              self.bb.get(f"builds/{builds[0]['buildid']}/steps")["steps"])

    def hold_done(self):
        hold = self.bb.builder_ids()["hold"]
        return any(b["results"] == 0 for b in self.bb.builds() if b["builderid"] == hold)


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
