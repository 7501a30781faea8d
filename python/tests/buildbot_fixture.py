"""A real buildbot master and worker in a temporary directory, for tests and benchmarks.

Debian's buildbot 3.7 master and buildbot-worker run as child processes of the
caller (twistd in the foreground, in the caller's process group), so whatever ends
the caller's process group, a test runner's timeout included, ends them too;
`Buildbot.stop_all()` stops them on every normal exit. They listen on Unix sockets in
the directory (the master's PB port for the worker, its www port for the REST API):
nothing is opened on the network, and no port can be taken by another process
between choosing it and listening on it.

    bb = Buildbot(root, master_cfg)   # master_cfg: text, formatted with the keys below
    try:
        bb.start_master(); bb.start_worker(); bb.wait_for_worker()
        bb.force("builder")
        wait_for("the build", bb.idle)
    finally:
        bb.stop_all()

`master_cfg` is formatted with %(pb)r and %(www)r (the sockets' strports), %(url)r
(buildbotURL), %(db)r (a buildhist store's path in root), %(root)r, and `values`."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

DEADLINE_S = 120  # for any one condition polled, and any one process to start or stop

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

# The worker's buildbot.tac: create-worker's, connecting to the master's Unix socket
# (buildbot-worker's connection_string) instead of a host and port.
WORKER_TAC = '''
import os
from buildbot_worker.bot import Worker
from twisted.application import service
from twisted.python.log import FileLogObserver, ILogObserver
from twisted.python.logfile import LogFile

basedir = os.path.abspath(os.path.dirname(__file__))
application = service.Application("buildbot-worker")
application.setComponent(ILogObserver, FileLogObserver(
    LogFile.fromFullPath(os.path.join(basedir, "twistd.log"))).emit)
Worker(None, None, "w1", "pass", basedir, keepalive=600,
       connection_string=%(connection)r).setServiceParent(application)
'''

# Lines of the master's twistd.log that say how its start ended.
MASTER_RUNNING = "BuildMaster is running"
MASTER_FAILED = "BuildMaster startup failed"


def write_tree(root, files):
    for path, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)


def wait_for(what, condition, deadline_s=DEADLINE_S):
    """Polls `condition` until it returns something true, and returns that; fails
    after deadline_s."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(0.05)


def read_from(path, offset):
    """The text of the file at `path` from byte `offset` ("" while it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def tail(path, chars=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:]
    except FileNotFoundError:
        return "(none)"


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to a server listening on a Unix socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Twistd:
    """A buildbot or buildbot-worker directory's twistd in the foreground, a child of
    this process in its process group."""

    def __init__(self, directory, env):
        self.directory = directory
        self.env = env
        self.process = None
        self.output = None

    def start(self):
        assert self.process is None, "already running"
        self.output = open(os.path.join(self.directory, "twistd.out"), "ab")
        # What `buildbot start --nodaemon` runs, without the pid file.
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts import twistd; twistd.run()",
             "--no_save", "--nodaemon", "--logfile=twistd.log", "--pidfile=",
             "--python=buildbot.tac"],
            cwd=self.directory, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self.output, stderr=subprocess.STDOUT)

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """SIGTERM (twistd's orderly shutdown), then SIGKILL if it has not exited
        within DEADLINE_S. Returns the exit status, None if it was not running."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=DEADLINE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            return process.returncode
        finally:
            self.output.close()


class Buildbot:
    """A master and a worker in `root`, and buildbot's REST API."""

    def __init__(self, root, master_cfg, values=None, extra_pythonpath=()):
        self.root = root
        self.master_dir = os.path.join(root, "master")
        self.worker_dir = os.path.join(root, "worker")
        self.db = os.path.join(root, "buildhist.db")
        self.pb_socket = os.path.join(root, "pb.sock")
        self.www_socket = os.path.join(root, "www.sock")
        # sockaddr_un's sun_path is 108 bytes on Linux.
        assert len(self.www_socket.encode()) < 100, f"{root} is too long a path for sockets"
        site = os.path.join(root, "site")
        write_tree(site, WWW_STANDIN)
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [site, *extra_pythonpath] +
            [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        self.run_tool("buildbot", "create-master", "-q", "-r", self.master_dir)
        with open(os.path.join(self.master_dir, "master.cfg"), "w") as f:
            f.write(master_cfg % {"pb": f"unix:{self.pb_socket}", "www": f"unix:{self.www_socket}",
                                  "url": "http://localhost/", "db": self.db, "root": root,
                                  **(values or {})})
        os.makedirs(self.worker_dir)
        with open(os.path.join(self.worker_dir, "buildbot.tac"), "w") as f:
            f.write(WORKER_TAC % {"connection": f"unix:path={self.pb_socket}"})
        self.master = Twistd(self.master_dir, self.env)
        self.worker = Twistd(self.worker_dir, self.env)

    def run_tool(self, module, *args):
        """Runs buildbot's or buildbot-worker's command line with this Python."""
        code = f"import sys; from {module}.scripts.runner import run; sys.argv[0] = '{module}'; run()"
        done = subprocess.run([sys.executable, "-c", code, *args], env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=DEADLINE_S)
        if done.returncode != 0:
            raise AssertionError(f"{module} {' '.join(args)} failed:\n{done.stdout}")

    # -- processes ----------------------------------------------------------------

    def start_master(self):
        """Starts the master and returns once its twistd.log says it is running."""
        log_path = os.path.join(self.master_dir, "twistd.log")
        start = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        for sock in (self.pb_socket, self.www_socket):  # left by a master killed before
            if os.path.exists(sock):
                os.unlink(sock)
        self.master.start()

        def started():
            text = read_from(log_path, start)
            if MASTER_RUNNING in text:
                return True
            if MASTER_FAILED in text or not self.master.running():
                raise AssertionError(
                    f"the master did not start; twistd.log ends:\n{text[-3000:]}\n"
                    f"twistd.out ends:\n{tail(os.path.join(self.master_dir, 'twistd.out'))}")
            return False

        wait_for("the master to start", started)

    def stop_master(self):
        status = self.master.stop()
        assert status == 0, f"the master exited with {status}"

    def start_worker(self):
        self.worker.start()

    def stop_all(self):
        """Stops the worker and the master, whatever state they are in."""
        self.worker.stop()
        self.master.stop()

    def wait_for_worker(self):
        wait_for("the worker to connect",
                 lambda: any(w["connected_to"] for w in self.get("workers")["workers"]))

    # -- the REST API ---------------------------------------------------------------

    def request(self, method, path, body=None):
        connection = UnixHTTPConnection(self.www_socket, timeout=30)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, f"/api/v2/{path}", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise AssertionError(f"{method} {path}: HTTP {response.status}: {data[:500]!r}")
            return json.loads(data)
        finally:
            connection.close()

    def get(self, path):
        return self.request("GET", path)

    def builder_ids(self):
        return {b["name"]: b["builderid"] for b in self.get("builders")["builders"]}

    def force(self, builder, scheduler="force"):
        body = json.dumps({"jsonrpc": "2.0", "method": "force", "id": 1,
                           "params": {"builderid": self.builder_ids()[builder]}}).encode()
        reply = self.request("POST", f"forceschedulers/{scheduler}", body)
        assert "error" not in reply, reply

    def builds(self):
        return self.get("builds?property=*&order=buildid")["builds"]

    def idle(self):
        """True when no build is running or waiting for a worker."""
        requests = self.get("buildrequests?complete=false")["buildrequests"]
        return not requests and all(b["complete"] for b in self.builds())
