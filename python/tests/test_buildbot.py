"""A real buildbot master and worker record into buildhist through the Recorder.

Starts Debian's buildbot 3.7 master and buildbot-worker on localhost in a temporary
directory (ports chosen free at run time, master.cfg written here), forces builds
through buildbot's REST API, waits for them by polling that API, then compares
every build, step, result, property, URL and log line in the buildhist store with
what buildbot's REST API returns. Meanwhile `buildhist builds` must show a running
build and `buildhist log --follow` must follow its log to the end. Then it stops
the master mid-build and starts it again: nothing duplicated, nothing lost.

Run by meson (the `python_buildbot` test) with PYTHONPATH at the build tree's
python/ and BUILDHIST_BIN the command; exits non-zero on a failure."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import buildhist

BUILDHIST_BIN = os.environ.get("BUILDHIST_BIN", "buildhist")
DEADLINE_S = 120  # for any one condition polled below

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
    "slow": [
        shell("count", "i=0; while [ $i -lt 30 ]; do echo line $i; i=$((i+1)); sleep 0.1; done"),
    ],
    "hold": [
        shell("wait", "echo waiting; while [ ! -e %(go)r ]; do sleep 0.1; done; echo released"),
    ],
}

c = BuildmasterConfig = {}
c["workers"] = [worker.Worker("w1", "pass")]
c["protocols"] = {"pb": {"port": "tcp:%(pb)d:interface=127.0.0.1"}}
c["www"] = {"port": "tcp:%(www)d:interface=127.0.0.1", "plugins": {}}
c["buildbotURL"] = "http://127.0.0.1:%(www)d/"
c["db"] = {"db_url": "sqlite:///state.sqlite"}
c["title"] = "buildhist test"
c["buildbotNetUsageData"] = None
c["builders"] = [util.BuilderConfig(name=name, workernames=["w1"],
                                    factory=util.BuildFactory(factory))
                 for name, factory in factories.items()]
c["schedulers"] = [schedulers.ForceScheduler(name="force", builderNames=list(factories))]
c["services"] = [Recorder(db=%(db)r)]
'''


# Debian ships buildbot without buildbot-www, the web UI's package, and buildbot's
# www service refuses to start without a "base" UI plugin, which also carries the
# REST API. This stand-in is that plugin with an empty UI: the REST API served is
# buildbot's own. It is found by pkg_resources as buildbot's plugins are.
WWW_STANDIN = {
    "buildhist_test_www/__init__.py":
        "from buildbot.www.plugin import Application\n"
        "ep = Application(__name__, 'an empty UI: the REST API alone')\n",
    "buildhist_test_www/VERSION": "0.0\n",
    "buildhist_test_www/static/index.html": "<html></html>\n",
    "buildhist_test_www-0.0.egg-info/PKG-INFO":
        "Metadata-Version: 1.1\nName: buildhist-test-www\nVersion: 0.0\n",
    "buildhist_test_www-0.0.egg-info/entry_points.txt":
        "[buildbot.www]\nbase = buildhist_test_www:ep\n",
}


def write_tree(root, files):
    for path, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(module, *args, cwd=None):
    """Runs buildbot's or buildbot-worker's command line with this Python."""
    code = f"import sys; from {module}.scripts.runner import run; sys.argv[0] = '{module}'; run()"
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=DEADLINE_S)
    if done.returncode != 0:
        raise AssertionError(f"{module} {' '.join(args)} failed:\n{done.stdout}")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_for(what, condition):
    """Polls `condition` until it returns something true; fails after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Buildbot:
    """A master and a worker in `root`, and buildbot's REST API."""

    def __init__(self, root):
        self.root = root
        self.master_dir = os.path.join(root, "master")
        self.worker_dir = os.path.join(root, "worker")
        self.db = os.path.join(root, "buildhist.db")
        self.go = os.path.join(root, "go")
        self.www = free_port()
        site = os.path.join(root, "site")
        write_tree(site, WWW_STANDIN)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [site] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        pb = free_port()
        run_tool("buildbot", "create-master", "-q", "-r", self.master_dir)
        with open(os.path.join(self.master_dir, "master.cfg"), "w") as f:
            f.write(MASTER_CFG % {"pb": pb, "www": self.www, "db": self.db, "go": self.go})
        run_tool("buildbot_worker", "create-worker", "-q", "-r", self.worker_dir,
                 f"127.0.0.1:{pb}", "w1", "pass")

    def start_master(self):
        try:
            run_tool("buildbot", "start", self.master_dir)
        except AssertionError as e:
            with open(os.path.join(self.master_dir, "twistd.log")) as f:
                raise AssertionError(f"{e}\ntwistd.log ends:\n{f.read()[-3000:]}") from None

    def wait_for_worker(self):
        wait_for("the worker to connect",
                 lambda: any(w["connected_to"] for w in self.get("workers")["workers"]))

    def stop_master(self):
        run_tool("buildbot", "stop", self.master_dir)

    def start_worker(self):
        run_tool("buildbot_worker", "start", self.worker_dir)

    def stop_all(self):
        for tool, directory in (("buildbot_worker", self.worker_dir),
                                ("buildbot", self.master_dir)):
            pid_file = os.path.join(directory, "twistd.pid")
            if os.path.exists(pid_file):
                with open(pid_file) as f:
                    pid = int(f.read().strip())
                try:
                    os.kill(pid, signal.SIGTERM)
                    wait_for(f"{tool} to exit", lambda: not alive(pid))
                except ProcessLookupError:
                    pass

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.www}/api/v2/{path}",
                                    timeout=30) as response:
            return json.load(response)

    def builder_ids(self):
        return {b["name"]: b["builderid"] for b in self.get("builders")["builders"]}

    def force(self, builder):
        body = json.dumps({"jsonrpc": "2.0", "method": "force", "id": 1,
                           "params": {"builderid": self.builder_ids()[builder]}}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.www}/api/v2/forceschedulers/force", data=body,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.load(response)
        assert "error" not in reply, reply

    def builds(self):
        return self.get("builds?property=*&order=buildid")["builds"]

    def idle(self):
        """True when no build is running or waiting for a worker."""
        requests = self.get("buildrequests?complete=false")["buildrequests"]
        return not requests and all(b["complete"] for b in self.builds())


class RecorderAgainstBuildbot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="buildhist-buildbot-")
        cls.bb = Buildbot(cls.tmp)
        cls.bb.start_master()
        cls.bb.start_worker()
        cls.bb.wait_for_worker()

    @classmethod
    def tearDownClass(cls):
        cls.bb.stop_all()
        if os.environ.get("BUILDHIST_KEEP_TMP"):
            print(f"kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def buildhist(self, *args):
        return subprocess.run([BUILDHIST_BIN, "--db", self.bb.db, *args], check=True,
                              capture_output=True, text=True, timeout=DEADLINE_S).stdout

    def assert_store_matches_buildbot(self):
        """Every build buildbot has, field by field and line by line, and no other."""
        bb = self.bb
        names = {v: k for k, v in bb.builder_ids().items()}
        workers = {w["workerid"]: w["name"] for w in bb.get("workers")["workers"]}
        builds = bb.builds()
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
                              ours.results is None and None or int(ours.results)),
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
        # follows its log until the step finishes.
        bb.force("slow")
        wait_for("the slow build to be recorded running",
                 lambda: self.running_in_buildhist("slow") and self.log_recorded("slow/1/count/stdio"))
        follow = subprocess.Popen([BUILDHIST_BIN, "--db", bb.db, "--json", "log",
                                   "slow/1/count/stdio", "--follow"],
                                  stdout=subprocess.PIPE, text=True)
        wait_for("the slow build", lambda: len(bb.builds()) == 4 and bb.idle())
        followed, _ = follow.communicate(timeout=DEADLINE_S)
        self.assertEqual(follow.returncode, 0)
        lines = [json.loads(line)["text"] for line in followed.splitlines()]
        self.assertIn("line 29", lines)
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
        # buildbot cancels the build it was running when it stopped: the cancelled
        # build must be recorded as buildbot finished it, and the next one be number 2.
        with open(bb.go, "w"):
            pass
        bb.force("hold")
        wait_for("every build to end", lambda: bb.idle() and self.hold_done())
        builds = self.assert_store_matches_buildbot()
        hold = bb.builder_ids()["hold"]
        self.assertEqual([(b["number"], b["results"]) for b in builds if b["builderid"] == hold],
                         [(1, 6), (2, 0)])

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
