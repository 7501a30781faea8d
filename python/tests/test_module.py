"""The buildhist Python module against real stores: identity and no pinning across the
language line, errors as exceptions, threads. Run by meson (the `python_module`
test) with PYTHONPATH at the build tree's python/; exits non-zero on a failure."""

import gc
import os
import sys
import tempfile
import threading
import unittest
import weakref

import buildhist
from buildhist import Results


def write_build(store, builder, lines=3, number=None):
    build = store.start_build(builder, worker="w1", started_at=100,
                              properties=[("got_revision", '"abc"', "Git")], number=number)
    step = build.add_step("compile", 101)
    log = step.add_log("stdio", "s")
    log.append("".join(f"oline {i}\n" for i in range(lines)))
    log.finish()
    step.finish(Results.SUCCESS, 102)
    build.finish(Results.SUCCESS, 103)
    return build


class StoreCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.db")
        self.store = buildhist.Store.open(self.path, cache_capacity=2)

    def tearDown(self):
        del self.store
        gc.collect()
        self.dir.cleanup()


class Identity(StoreCase):
    def test_every_path_returns_the_same_python_object(self):
        build = write_build(self.store, "b")
        step = build.step(0)
        log = step.log("stdio")
        self.assertIs(self.store.build("b", 1), build)
        self.assertIs(step.build(), build)
        self.assertIs(log.step(), step)
        self.assertIs(build.step("compile"), step)
        self.assertIs(self.store.history("b")[0], build)

    def test_a_log_held_alone_refaults_its_build_as_the_one_live_object(self):
        log = write_build(self.store, "b").step(0).log("stdio")
        for _ in range(4):  # evict build 1 from a cache of 2
            write_build(self.store, "b")
        gc.collect()
        step = log.step()  # refaulted from SQLite
        self.assertIs(step.build(), self.store.build("b", 1))
        self.assertIs(step.log("stdio"), log)
        self.assertEqual([text for _, text in log.read()], ["oline 0", "oline 1", "oline 2"])


class NoPinning(StoreCase):
    def test_an_evicted_build_is_freed_once_python_lets_go(self):
        self.store.flush()
        baseline = self.store.stats().live_builds
        build = write_build(self.store, "b")
        step, log = build.step(0), build.step(0).log("stdio")
        refs = [weakref.ref(o) for o in (build, step, log)]
        for _ in range(4):
            write_build(self.store, "b")
        self.store.flush()
        self.assertGreater(self.store.stats().evictions, 0)
        del build, step, log
        gc.collect()
        self.assertEqual([r() for r in refs], [None, None, None])
        # Only the cache's own builds (capacity 2) are left alive, not build 1.
        self.assertLessEqual(self.store.stats().live_builds, baseline + 2)


class Errors(StoreCase):
    def test_errors_carry_their_code_and_one_line(self):
        with self.assertRaises(buildhist.Error) as caught:
            self.store.start_build("b", number=0)
        self.assertEqual(caught.exception.code, buildhist.ErrorCode.INVALID_ARGUMENT)
        self.assertNotIn("\n", caught.exception.message)
        build = write_build(self.store, "b", number=7)
        with self.assertRaises(buildhist.Error) as caught:
            build.add_step("late")
        self.assertEqual(caught.exception.code, buildhist.ErrorCode.FAILED_PRECONDITION)
        with self.assertRaises(buildhist.Error) as caught:
            self.store.start_build("b", number=7)  # not above the builder's last number
        self.assertEqual(caught.exception.code, buildhist.ErrorCode.INVALID_ARGUMENT)
        with self.assertRaises(buildhist.Error) as caught:
            buildhist.History(self.store).show("nobody", 1)
        self.assertEqual(caught.exception.code, buildhist.ErrorCode.NOT_FOUND)
        with self.assertRaises(buildhist.Error):
            build.step(0).add_log("x", "q")
        self.assertEqual(self.store.build("b", 8), None)

    def test_a_store_that_is_not_one(self):
        bad = os.path.join(self.dir.name, "bad.db")
        with open(bad, "w") as f:
            f.write("not sqlite at all, and long enough to be read as a header" * 20)
        with self.assertRaises(buildhist.Error) as caught:
            buildhist.Store.open(bad)
        self.assertEqual(caught.exception.code, buildhist.ErrorCode.CORRUPT)


class Queries(StoreCase):
    def test_iterators_stream_what_was_committed(self):
        for _ in range(30):
            write_build(self.store, "b")
        write_build(self.store, "c")
        self.store.flush()
        history = buildhist.History(self.store)
        self.assertEqual([b.name for b in history.builders()], ["b", "c"])
        numbers = [r.number for r in history.builds("b", limit=0)]
        self.assertEqual(numbers, list(range(30, 0, -1)))
        self.assertEqual(len(list(history.find_by_property("got_revision", "abc"))), 31)
        it = history.builds("b", limit=0)  # dropped half read: its query stops
        next(it)
        del it
        self.assertEqual(list(history.check()), [])
        detail = history.find_log("b/3/compile/stdio")
        self.assertEqual(list(history.read_log(detail, 1, 1)), [(1, "oline 1")])


class Threads(StoreCase):
    def test_a_follower_waits_without_the_gil_while_another_thread_writes(self):
        build = self.store.start_build("b", started_at=1)
        log = build.add_step("test", 1).add_log("stdio", "s")
        log.append("ofirst\n")
        self.store.flush()
        history = buildhist.History(self.store)
        got = []
        follower = threading.Thread(
            target=lambda: got.extend(buildhist.follow_log(history, "b/1/test/stdio", poll=0.01)))
        follower.start()
        for i in range(50):
            log.append(f"oline {i}\n")
            self.store.flush()
        log.finish()
        follower.join(60)
        self.assertFalse(follower.is_alive())
        self.assertEqual([t for _, t in got], ["ofirst"] + [f"oline {i}" for i in range(50)])

    def test_writers_on_many_threads(self):
        def master(builder):
            for _ in range(20):
                write_build(self.store, builder, lines=10)
        workers = [threading.Thread(target=master, args=(f"b{i}",)) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.store.flush()
        history = buildhist.History(self.store)
        self.assertEqual([(s.name, s.builds) for s in history.builders()],
                         [(f"b{i}", 20) for i in range(4)])
        self.assertEqual(list(history.check()), [])


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
