"""buildhist.buildbot: a buildbot service that records the master into a buildhist store.

In master.cfg:

    from buildhist.buildbot import Recorder
    c['services'] = [Recorder(db="/var/lib/buildbot/buildhist.db")]

How it works. The Recorder consumes buildbot's message queue (builds, their
properties, steps and logs: new, started, updated, appended, finished). A message
says *what* changed; the Recorder then reads that thing's committed state from
buildbot's data API (Twisted deferreds, never blocking the reactor) and brings the
buildhist build level with it: a build, step or log it lacks is added, a field that
differs is set, log lines beyond those recorded are read from
('logs', logid, 'contents') a page at a time and appended. So what it records is what
buildbot committed, in buildbot's order, and a missed or reordered message costs
nothing: the next one, or the catch-up at start, brings everything level again.

Messages for one build are coalesced: while a build is being brought level, further
messages only mark it (or one of its logs) to be looked at again, so a chatty step
costs one read of its new lines per round, not one per message.

Every call into buildhist runs on Twisted's thread pool (deferToThread): writes are
buffered by the library's writer and return at once, but may wait when its queue
is full, and lookups may read SQLite.

Numbers: buildhist's build numbers are buildbot's (BuildStart.number). At start the
Recorder catches up: every build buildbot has above the newest one recorded, and
every recorded build still running, is brought level, in number order, before any
new message is handled. A restart therefore resumes without duplicates and without
losing anything buildbot committed meanwhile.
"""

import json

from twisted.internet import defer, threads
from twisted.python import log as twlog

from buildbot import config
from buildbot.data import resultspec
from buildbot.util import service

import buildhist

# The messages that say something changed (buildbot 3.x routing keys).
_EVENTS = [
    ("builds", None, "new"),
    ("builds", None, "update"),
    ("builds", None, "finished"),
    ("builds", None, "properties", "update"),
    ("steps", None, None),
    ("logs", None, None),
]

# Log lines read from buildbot in one request: bounds the memory one catch-up holds.
_LINES_PER_READ = 1000

# Recorded builds, newest first, looked at for still-running ones on start.
_RUNNING_WINDOW = 100


def _epoch(value):
    """buildbot's time (a datetime from the data API, or epoch seconds) as seconds."""
    if value is None:
        return None
    return int(value.timestamp()) if hasattr(value, "timestamp") else int(value)


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _in_thread(function, *args, **kwargs):
    return threads.deferToThread(function, *args, **kwargs)


class _Tracked:
    """What the Recorder holds of one running build: buildhist's live handles (so
    the build stays the cache's one live object while it runs), and what is dirty."""

    def __init__(self, buildid):
        self.buildid = buildid
        self.build = None  # buildhist.Build, once found or started
        self.logs = {}  # buildbot logid -> buildhist.Log
        self.whole = True  # the build and its steps must be looked at
        self.dirty_logs = set()  # logids whose lines or state changed
        self.running = None  # the Deferred of the round in progress


class Recorder(service.BuildbotService):
    """Records every builder, build, property, step, URL and log line of the master
    into the buildhist store at `db` (created if missing) as buildbot commits them.

    Arguments: db (the store's path), cache_capacity (builds the store's cache keeps
    per builder, default 256). It never blocks buildbot's reactor; see the module's
    comment for how it stays faithful across restarts.
    """

    name = "buildhist"

    def checkConfig(self, db=None, cache_capacity=256, **kwargs):
        if not isinstance(db, str) or not db:
            config.error("buildhist Recorder: db= must be the path of a buildhist store")
        if not isinstance(cache_capacity, int) or cache_capacity < 1:
            config.error("buildhist Recorder: cache_capacity must be a positive integer")

    @defer.inlineCallbacks
    def reconfigService(self, db=None, cache_capacity=256, **kwargs):
        if getattr(self, "_store", None) is not None and self._db == db:
            return
        if getattr(self, "_store", None) is not None:
            yield self._close()
            self._db, self._cache_capacity = db, cache_capacity
            yield self._open()
        self._db, self._cache_capacity = db, cache_capacity

    @defer.inlineCallbacks
    def startService(self):
        self._store = None
        self._tracked = {}  # buildid -> _Tracked, for builds not yet recorded complete
        self._step_builds = {}  # buildbot stepid -> buildid, for log messages
        self._names = {}  # ('builders' | 'workers', id) -> name
        self._consumers = []
        yield super().startService()
        yield self._open()

    @defer.inlineCallbacks
    def stopService(self):
        yield self._close()
        yield super().stopService()

    # -- lifetime ---------------------------------------------------------------

    @defer.inlineCallbacks
    def _open(self):
        self._resumed = False
        self._store = yield _in_thread(buildhist.Store.open, self._db,
                                       cache_capacity=self._cache_capacity)
        for key in _EVENTS:
            consumer = yield self.master.mq.startConsuming(self._on_message, key)
            self._consumers.append(consumer)
        # Messages that arrive meanwhile only mark their builds: the catch-up creates
        # builds in number order first.
        try:
            yield self._catch_up()
        except Exception:  # noqa: BLE001  (a plugin must not stop the master starting)
            twlog.err(None, "buildhist: catching up with buildbot")
        self._resumed = True
        for tracked in list(self._tracked.values()):
            self._start_round(tracked)

    @defer.inlineCallbacks
    def _close(self):
        """Stops consuming, waits for the rounds in progress, flushes the store and
        lets it go."""
        for consumer in self._consumers:
            consumer.stopConsuming()
        self._consumers = []
        for tracked in list(self._tracked.values()):
            if tracked.running is not None:
                yield tracked.running
        store, self._store = self._store, None
        self._tracked = {}
        if store is not None:
            yield _in_thread(store.flush)
            # The last reference: ~Store has nothing left to wait for.
            del store

    @defer.inlineCallbacks
    def _catch_up(self):
        history = buildhist.History(self._store)
        recorded = yield _in_thread(lambda: {b.name: b.newest for b in history.builders()})
        builders = yield self.master.data.get(("builders",))
        for builder in sorted(builders, key=lambda b: b["builderid"]):
            self._names[("builders", builder["builderid"])] = builder["name"]
            newest = recorded.get(builder["name"]) or 0
            running = yield _in_thread(self._running_numbers, history, builder["name"], newest)
            newer = yield self.master.data.get(
                ("builders", builder["builderid"], "builds"),
                filters=[resultspec.Filter("number", "gt", [newest])])
            numbers = sorted(set(running) | {b["number"] for b in newer})
            for number in numbers:
                build = yield self.master.data.get(
                    ("builders", builder["builderid"], "builds", number))
                if build is not None:
                    yield self._round(self._track(build["buildid"]))

    @staticmethod
    def _running_numbers(history, builder, newest):
        if not newest:
            return []
        return [b.number for b in history.builds(builder, limit=_RUNNING_WINDOW)
                if b.complete_at is None]

    # -- messages ---------------------------------------------------------------

    def _on_message(self, key, message):
        if self._store is None:
            return
        kind = key[0]
        if kind == "builds":
            # ('builds', buildid, ...): a properties message is the properties alone.
            self._mark(int(key[1]))
        elif kind == "steps":
            self._step_builds[message["stepid"]] = message["buildid"]
            self._mark(message["buildid"])
        elif kind == "logs":
            self._mark_log(message)

    def _mark_log(self, message):
        buildid = self._step_builds.get(message["stepid"])
        if buildid is not None:
            self._mark(buildid, logid=message["logid"])
            return
        # A step this Recorder has not seen (it started before the master's restart):
        # find its build, then look at the whole of it.
        d = self.master.data.get(("steps", message["stepid"]))
        d.addCallback(lambda step: step and self._mark(step["buildid"]))
        d.addErrback(twlog.err, "buildhist: looking up a step")

    def _track(self, buildid):
        tracked = self._tracked.get(buildid)
        if tracked is None:
            tracked = self._tracked[buildid] = _Tracked(buildid)
        return tracked

    def _mark(self, buildid, logid=None):
        tracked = self._track(buildid)
        if logid is not None and logid in tracked.logs:
            tracked.dirty_logs.add(logid)
        else:
            tracked.whole = True
        if self._resumed:
            self._start_round(tracked)

    def _start_round(self, tracked):
        if tracked.running is not None:
            return  # the round in progress looks again before it ends
        tracked.running = self._rounds(tracked)

    @defer.inlineCallbacks
    def _rounds(self, tracked):
        try:
            while (tracked.whole or tracked.dirty_logs) and self._store is not None:
                yield self._round(tracked)
        except Exception:  # noqa: BLE001  (a plugin must not take the master down)
            twlog.err(None, f"buildhist: recording build {tracked.buildid}")
        finally:
            tracked.running = None

    # -- bringing one build level ---------------------------------------------------

    @defer.inlineCallbacks
    def _round(self, tracked):
        if not tracked.whole:
            logids, tracked.dirty_logs = tracked.dirty_logs, set()
            for logid in sorted(logids):
                entity = yield self.master.data.get(("logs", logid))
                if entity is not None:
                    yield self._level_log(tracked.logs[logid], entity)
            return
        tracked.whole, tracked.dirty_logs = False, set()
        build = yield self.master.data.get(("builds", tracked.buildid))
        if build is None:
            return
        if tracked.build is None:
            tracked.build = yield self._find_or_start(build)
        record = yield _in_thread(tracked.build.record)
        if record.complete_at is not None:
            self._forget(tracked)  # recorded complete before: nothing can change
            return
        yield self._level_properties(tracked.build, build["buildid"])
        if build["state_string"] != record.state_string:
            yield _in_thread(tracked.build.set_state_string, build["state_string"])
        steps = yield self.master.data.get(("builds", build["buildid"], "steps"))
        for step in sorted(steps, key=lambda s: s["number"]):
            self._step_builds[step["stepid"]] = build["buildid"]
            yield self._level_step(tracked, step)
        if build["complete"]:
            yield _in_thread(tracked.build.finish, buildhist.results_from_code(build["results"]),
                             _epoch(build["complete_at"]))
            self._forget(tracked)

    def _forget(self, tracked):
        self._tracked.pop(tracked.buildid, None)
        for stepid in [s for s, b in self._step_builds.items() if b == tracked.buildid]:
            del self._step_builds[stepid]

    @defer.inlineCallbacks
    def _name(self, collection, id_):
        if (collection, id_) not in self._names:
            entity = yield self.master.data.get((collection, id_))
            self._names[(collection, id_)] = entity["name"] if entity else ""
        return self._names[(collection, id_)]

    @defer.inlineCallbacks
    def _find_or_start(self, build):
        builder = yield self._name("builders", build["builderid"])
        found = yield _in_thread(self._store.build, builder, build["number"])
        if found is not None:
            return found  # a build recorded before a restart: continued, not added
        worker = yield self._name("workers", build["workerid"])
        properties = yield self._properties(build["buildid"])
        started = yield _in_thread(
            self._store.start_build, builder, worker=worker,
            started_at=_epoch(build["started_at"]), state_string=build["state_string"],
            properties=[(name, value, source) for name, (value, source) in properties.items()],
            number=build["number"])
        return started

    @defer.inlineCallbacks
    def _properties(self, buildid):
        """The build's properties as buildhist stores them: name -> (JSON, source)."""
        properties = yield self.master.data.get(("builds", buildid, "properties"))
        return {name: (_json(value), source)
                for name, (value, source) in (properties or {}).items()}

    @defer.inlineCallbacks
    def _level_properties(self, build, buildid):
        wanted = yield self._properties(buildid)
        have = yield _in_thread(lambda: {p.name: (p.value, p.source) for p in build.properties()})
        for name, (value, source) in sorted(wanted.items()):
            if have.get(name) != (value, source):
                yield _in_thread(build.set_property, name, value, source)

    @defer.inlineCallbacks
    def _level_step(self, tracked, step):
        build = tracked.build
        ours = yield _in_thread(build.step, step["number"])
        if ours is None:
            ours = yield _in_thread(build.add_step, step["name"], _epoch(step["started_at"]))
            assert ours.number == step["number"], (ours, step)
        record = yield _in_thread(ours.record)
        if record.complete_at is not None:
            return
        if record.started_at is None and step["started_at"] is not None:
            yield _in_thread(ours.start, _epoch(step["started_at"]))
        if step["state_string"] != record.state_string:
            yield _in_thread(ours.set_state_string, step["state_string"])
        for url in step["urls"][len(record.urls):]:
            yield _in_thread(ours.add_url, url["name"], url["url"])
        logs = yield self.master.data.get(("steps", step["stepid"], "logs"))
        for entity in sorted(logs, key=lambda lg: lg["logid"]):
            log = tracked.logs.get(entity["logid"])
            if log is None:
                log = yield _in_thread(ours.log, entity["slug"])
                if log is None:
                    log = yield _in_thread(ours.add_log, entity["name"], entity["type"])
                tracked.logs[entity["logid"]] = log
            yield self._level_log(log, entity)
        if step["complete"]:
            if step["hidden"] != record.hidden:
                yield _in_thread(ours.set_hidden, step["hidden"])
            yield _in_thread(ours.finish, buildhist.results_from_code(step["results"]),
                             _epoch(step["complete_at"]))

    @defer.inlineCallbacks
    def _level_log(self, log, entity):
        record = yield _in_thread(log.record)
        if record.complete:
            return
        recorded = record.num_lines
        while recorded < entity["num_lines"]:
            count = min(_LINES_PER_READ, entity["num_lines"] - recorded)
            chunk = yield self.master.data.get(
                ("logs", entity["logid"], "contents"), offset=recorded, limit=count)
            text = chunk["content"] if chunk else ""
            if not text:
                break  # not committed yet: the next message brings it
            yield _in_thread(log.append, text)
            recorded += text.count("\n")
        if entity["complete"] and recorded >= entity["num_lines"]:
            yield _in_thread(log.finish)

