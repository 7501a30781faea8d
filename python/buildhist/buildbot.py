"""buildhist.buildbot: a buildbot service that records the master into a buildhist store.

In master.cfg:

    from buildhist.buildbot import Recorder
    c['services'] = [Recorder(db="/var/lib/buildbot/buildhist.db")]

How it works. The Recorder consumes buildbot's message queue (builds, their
properties, steps and logs: new, started, updated, appended, finished). buildbot
makes each such message from a read of the entity just after committing the change,
so a message's body is that entity's committed state; the Recorder brings the
buildhist build level with the newest body of each entity named: a build, step or
log it lacks is added, a field that differs is set, and log lines beyond those
recorded are read from ('logs', logid, 'contents') (the one thing a message does not
carry), a page at a time, from the first line not recorded. A build is read whole
from buildbot's data API (the build, its properties, steps and their logs) only
when the Recorder first sees it, once at its end before it is recorded complete,
and when a message does not fit what is recorded (a step out of order, a log of an
unseen step); a step's logs are listed when the step ends. So what it records is
what buildbot committed, and a missed or reordered message costs nothing: the
build's end, or the catch-up at start, brings everything level again. Finished
steps, logs and builds are never read again.

Messages for one build are coalesced: while a build is being brought level,
further messages only mark what they name, and a running log's appends are read at
most once in _FOLLOW_INTERVAL (0.5 s), so a chatty step costs a bounded number of
reads of its new lines, not one per message. Each read occupies buildbot's one
database thread, where buildbot's own writes for the next step queue behind it.

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

from twisted.internet import defer, reactor, threads
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

# A running log's new lines are read at most once in this many seconds: appends that
# come meanwhile are read together (and a step that ends meanwhile reads its logs'
# remaining lines with its end), so a chatty log costs buildbot's database a bounded
# number of reads, not one per append.
_FOLLOW_INTERVAL = 0.5

# _Tracked.running while a round starts (before _rounds returns its Deferred).
_STARTING = object()

# Builds recorded complete that the Recorder remembers, to ignore their late messages.
_FINISHED_KEPT = 10000


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
    the build stays the cache's one live object while it runs), what it has
    recorded of each step and log (so that a message costs only the reads of what
    it names), and what is dirty."""

    def __init__(self, buildid):
        self.buildid = buildid
        self.build = None  # buildhist.Build, once found or started
        self.steps = {}  # buildbot stepid -> _Step
        self.logs = {}  # buildbot logid -> _Log
        self.whole = True  # the build and all its steps must be read and levelled
        self.entity = None  # the newest build entity a message carried, to level
        self.properties = {}  # properties messages carried since the last round
        self.dirty_steps = {}  # stepid -> the newest step entity a message carried
        self.dirty_logs = {}  # logid -> the newest log entity a message carried
        self.appended = {}  # logid -> the newest entity of appends waiting for the interval
        self.follow = None  # the DelayedCall that moves `appended` to dirty_logs
        self.running = None  # the Deferred of the round in progress
        self.state_string = None  # the build's, as recorded
        self.property_values = None  # name -> (JSON, source) recorded, once read

    def dirty(self):
        return bool(self.whole or self.entity is not None or self.properties
                    or self.dirty_steps or self.dirty_logs)


class _Step:
    """A step recorded in buildhist: its handle and what its record holds."""

    def __init__(self, handle, record):
        self.handle = handle
        self.complete = record.complete_at is not None
        self.started = record.started_at is not None
        self.state_string = record.state_string
        self.urls = len(record.urls)
        self.hidden = record.hidden


class _Log:
    """A log recorded in buildhist: its handle, lines recorded, recorded complete."""

    def __init__(self, handle, stepid, lines, complete):
        self.handle = handle
        self.stepid = stepid
        self.lines = lines
        self.complete = complete


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
        self._finished = {}  # buildids recorded complete (oldest first), at most _FINISHED_KEPT
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
        self._finished = {}
        self._step_builds = {}
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
            if tracked.follow is not None and tracked.follow.active():
                tracked.follow.cancel()
            tracked.follow = None
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
                tracked = build and self._track(build["buildid"])
                if tracked is not None:
                    yield self._round(tracked)

    @staticmethod
    def _running_numbers(history, builder, newest):
        if not newest:
            return []
        return [b.number for b in history.builds(builder, limit=_RUNNING_WINDOW)
                if b.complete_at is None]

    # -- messages ---------------------------------------------------------------
    #
    # buildbot makes every builds, steps and logs message from a read of the entity
    # just after committing the change (data.*.generateEvent), and sends them in
    # commit order: a message's body is that entity's committed state. The Recorder
    # keeps the newest body of each entity a message names and, in the build's next
    # round, levels only those: a build or step message costs no read, a log
    # message one read of its new lines from the first unrecorded one. Whole builds
    # are read only when a build is first seen (its start, or the catch-up), when it
    # ends (once, before it is recorded complete), and when something does not fit
    # what is recorded (a step or log of a step not seen).

    def _on_message(self, key, message):
        if self._store is None:
            return
        kind = key[0]
        if kind == "builds":
            # ('builds', buildid, ...): a properties message is the properties alone.
            tracked = self._track(int(key[1]))
            if tracked is None:
                return
            if key[2] == "properties":
                tracked.properties.update(message or {})
            else:
                tracked.entity = message
            self._kick(tracked)
        elif kind == "steps":
            tracked = self._track(message["buildid"])
            if tracked is None:
                return
            self._step_builds[message["stepid"]] = message["buildid"]
            step = tracked.steps.get(message["stepid"])
            if step is None or not step.complete:  # a finished step is never re-read
                tracked.dirty_steps[message["stepid"]] = message
                self._kick(tracked)
        elif kind == "logs":
            self._mark_log(message)

    def _mark_log(self, message):
        buildid = self._step_builds.get(message["stepid"])
        if buildid is not None:
            tracked = self._track(buildid)
            if tracked is None:
                return
            log = tracked.logs.get(message["logid"])
            if log is not None and log.complete:
                return
            if log is not None and not message["complete"] \
                    and message["logid"] not in tracked.dirty_logs:
                # An append: read with the others of the interval.
                tracked.appended[message["logid"]] = message
                if tracked.follow is None:
                    tracked.follow = reactor.callLater(_FOLLOW_INTERVAL, self._follow, tracked)
                return
            tracked.appended.pop(message["logid"], None)
            tracked.dirty_logs[message["logid"]] = message
            self._kick(tracked)
            return
        # A step this Recorder has not seen (it started before the master's restart):
        # find its build, then look at the whole of it.
        d = self.master.data.get(("steps", message["stepid"]))
        d.addCallback(lambda step: step and self._mark_whole(step["buildid"]))
        d.addErrback(twlog.err, "buildhist: looking up a step")

    def _track(self, buildid):
        """The build's _Tracked, made if missing; None for a build recorded complete."""
        if buildid in self._finished:
            return None
        tracked = self._tracked.get(buildid)
        if tracked is None:
            tracked = self._tracked[buildid] = _Tracked(buildid)
        return tracked

    def _follow(self, tracked):
        tracked.follow = None
        if self._tracked.get(tracked.buildid) is not tracked:
            return
        for logid, entity in tracked.appended.items():
            tracked.dirty_logs.setdefault(logid, entity)
        tracked.appended = {}
        self._kick(tracked)

    def _mark_whole(self, buildid):
        tracked = self._track(buildid)
        if tracked is not None:
            tracked.whole = True
            self._kick(tracked)

    def _kick(self, tracked):
        if self._resumed:
            self._start_round(tracked)

    def _start_round(self, tracked):
        if tracked.running is not None:
            return  # the round in progress looks again before it ends
        # A round that needs no read ends before _rounds returns, and its `finally`
        # has set running to None: then running must not be set to the fired Deferred.
        tracked.running = _STARTING
        rounds = self._rounds(tracked)
        if tracked.running is _STARTING:
            tracked.running = rounds

    @defer.inlineCallbacks
    def _rounds(self, tracked):
        try:
            while tracked.dirty() and self._tracked.get(tracked.buildid) is tracked \
                    and self._store is not None:
                yield self._round(tracked)
        except Exception:  # noqa: BLE001  (a plugin must not take the master down)
            twlog.err(None, f"buildhist: recording build {tracked.buildid}")
            tracked.whole = True  # what is cached may be behind: the next message reads all
        finally:
            tracked.running = None

    def _forget(self, tracked):
        """The build is recorded complete: nothing of it is read again."""
        if self._tracked.get(tracked.buildid) is tracked:
            del self._tracked[tracked.buildid]
        for stepid in tracked.steps:
            self._step_builds.pop(stepid, None)
        if tracked.follow is not None and tracked.follow.active():
            tracked.follow.cancel()
        tracked.follow = None
        self._finished[tracked.buildid] = None
        while len(self._finished) > _FINISHED_KEPT:
            del self._finished[next(iter(self._finished))]

    # -- bringing one build level ---------------------------------------------------

    @defer.inlineCallbacks
    def _round(self, tracked):
        if tracked.whole:
            yield self._round_whole(tracked)
            return
        steps, tracked.dirty_steps = tracked.dirty_steps, {}
        logs, tracked.dirty_logs = tracked.dirty_logs, {}
        properties, tracked.properties = tracked.properties, {}
        entity, tracked.entity = tracked.entity, None
        levelled = set()  # logids levelled with their step
        for step in sorted(steps.values(), key=lambda s: s["number"]):
            if step["stepid"] not in tracked.steps and step["number"] != len(tracked.steps):
                tracked.whole = True  # a step before it was not seen
                return
            yield self._level_step(tracked, step, levelled, whole=False)
        for logid, log_entity in sorted(logs.items()):
            if logid in levelled:
                continue
            log = tracked.logs.get(logid)
            if log is None:
                step = tracked.steps.get(log_entity["stepid"])
                if step is None:
                    tracked.whole = True
                    return
                log = yield self._log(tracked, step, log_entity)
            yield self._level_log(log, log_entity)
        if properties:
            yield self._set_properties(tracked, {
                name: (_json(value), source) for name, (value, source) in properties.items()})
        if entity is not None:
            if entity["complete"]:
                tracked.whole = True  # its end: everything of it, once, then finish
                return
            if entity["state_string"] != tracked.state_string:
                yield _in_thread(tracked.build.set_state_string, entity["state_string"])
                tracked.state_string = entity["state_string"]

    @defer.inlineCallbacks
    def _round_whole(self, tracked):
        tracked.whole, tracked.entity, tracked.properties = False, None, {}
        tracked.dirty_steps, tracked.dirty_logs = {}, {}
        build = yield self.master.data.get(("builds", tracked.buildid))
        if build is None:
            return
        wanted = yield self._properties(build["buildid"])
        if tracked.build is None:
            tracked.build = yield self._find_or_start(build, wanted)
        record = yield _in_thread(tracked.build.record)
        if record.complete_at is not None:
            self._forget(tracked)  # recorded complete before: nothing can change
            return
        yield self._set_properties(tracked, wanted)
        if build["state_string"] != record.state_string:
            yield _in_thread(tracked.build.set_state_string, build["state_string"])
        tracked.state_string = build["state_string"]
        steps = yield self.master.data.get(("builds", build["buildid"], "steps"))
        for step in sorted(steps, key=lambda s: s["number"]):
            self._step_builds[step["stepid"]] = build["buildid"]
            yield self._level_step(tracked, step, set(), whole=True)
        if build["complete"]:
            yield _in_thread(tracked.build.finish, buildhist.results_from_code(build["results"]),
                             _epoch(build["complete_at"]))
            self._forget(tracked)

    @defer.inlineCallbacks
    def _name(self, collection, id_):
        if (collection, id_) not in self._names:
            entity = yield self.master.data.get((collection, id_))
            self._names[(collection, id_)] = entity["name"] if entity else ""
        return self._names[(collection, id_)]

    @defer.inlineCallbacks
    def _find_or_start(self, build, properties):
        builder = yield self._name("builders", build["builderid"])
        found = yield _in_thread(self._store.build, builder, build["number"])
        if found is not None:
            return found  # a build recorded before a restart: continued, not added
        worker = yield self._name("workers", build["workerid"])
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
    def _set_properties(self, tracked, wanted):
        """Sets those of `wanted` (name -> (JSON, source)) that differ from what is
        recorded. What is recorded is read from the store once per build, then kept
        (the Recorder is the build's one writer)."""
        if tracked.property_values is None:
            tracked.property_values = yield _in_thread(
                lambda: {p.name: (p.value, p.source) for p in tracked.build.properties()})
        have = tracked.property_values
        for name, (value, source) in sorted(wanted.items()):
            if have.get(name) != (value, source):
                yield _in_thread(tracked.build.set_property, name, value, source)
                have[name] = (value, source)

    @defer.inlineCallbacks
    def _level_step(self, tracked, step, levelled, whole):
        """Levels one step with its entity. Its logs are listed from buildbot and
        levelled in a whole round and at the step's end (logid added to `levelled`);
        otherwise log messages bring them."""
        ours = tracked.steps.get(step["stepid"])
        if ours is None:
            handle = yield _in_thread(tracked.build.step, step["number"])
            if handle is None:
                handle = yield _in_thread(tracked.build.add_step, step["name"],
                                          _epoch(step["started_at"]))
                assert handle.number == step["number"], (handle, step)
            record = yield _in_thread(handle.record)
            ours = tracked.steps[step["stepid"]] = _Step(handle, record)
        if ours.complete:
            return
        if not ours.started and step["started_at"] is not None:
            yield _in_thread(ours.handle.start, _epoch(step["started_at"]))
            ours.started = True
        if step["state_string"] != ours.state_string:
            yield _in_thread(ours.handle.set_state_string, step["state_string"])
            ours.state_string = step["state_string"]
        for url in step["urls"][ours.urls:]:
            yield _in_thread(ours.handle.add_url, url["name"], url["url"])
            ours.urls += 1
        if whole or step["complete"]:
            logs = yield self.master.data.get(("steps", step["stepid"], "logs"))
            for entity in sorted(logs, key=lambda lg: lg["logid"]):
                log = tracked.logs.get(entity["logid"])
                if log is None:
                    log = yield self._log(tracked, ours, entity)
                yield self._level_log(log, entity)
                levelled.add(entity["logid"])
        if step["complete"]:
            if step["hidden"] != ours.hidden:
                yield _in_thread(ours.handle.set_hidden, step["hidden"])
            yield _in_thread(ours.handle.finish, buildhist.results_from_code(step["results"]),
                             _epoch(step["complete_at"]))
            ours.complete = True

    @defer.inlineCallbacks
    def _log(self, tracked, step, entity):
        """The step's log for buildbot's log entity: found (recorded before a restart)
        or added."""
        handle = yield _in_thread(step.handle.log, entity["slug"])
        if handle is None:
            handle = yield _in_thread(step.handle.add_log, entity["name"], entity["type"])
        record = yield _in_thread(handle.record)
        log = tracked.logs[entity["logid"]] = _Log(handle, entity["stepid"], record.num_lines,
                                                   record.complete)
        return log

    @defer.inlineCallbacks
    def _level_log(self, log, entity):
        if log.complete:
            return
        while log.lines < entity["num_lines"]:
            count = min(_LINES_PER_READ, entity["num_lines"] - log.lines)
            chunk = yield self.master.data.get(
                ("logs", entity["logid"], "contents"), offset=log.lines, limit=count)
            text = chunk["content"] if chunk else ""
            if not text:
                break  # not committed yet: the next message brings it
            yield _in_thread(log.handle.append, text)
            log.lines += text.count("\n")
        if entity["complete"] and log.lines >= entity["num_lines"]:
            yield _in_thread(log.handle.finish)
            log.complete = True
