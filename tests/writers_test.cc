// Several processes writing one store: row ids never collide, build numbers are
// never given twice, nothing is lost or merged, and a writer that died is taken
// over. Each writer is a forked child with a Store of its own, as a master and an
// import, or two masters, would be.
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "buildhist/buildhist.h"
#include "doctest_include.h"
#include "process.h"
#include "temp_dir.h"

using namespace buildhist;
using buildhist::testing::TempDir;

namespace {

constexpr int kSteps = 3;

std::string line_of(int writer, int serial, int step, int line) {
  return "ow" + std::to_string(writer) + " b" + std::to_string(serial) + " s" +
         std::to_string(step) + " l" + std::to_string(line);
}

// One whole build of writer `writer`, its serial number `serial` in a property,
// its log lines derived from both, so the reader can tell whose it is.
void write_build(Store& store, const std::string& builder, int writer, int serial) {
  BuildStart start;
  start.worker = "worker-" + std::to_string(writer);
  start.started_at = 1700000000 + serial;
  start.properties = {{"writer", std::to_string(writer), "test"},
                      {"serial", std::to_string(serial), "test"}};
  auto build = store.start_build(builder, start);
  for (int s = 0; s < kSteps; ++s) {
    auto step = build->add_step("step", start.started_at);
    auto log = step->add_log("stdio", LogType::kStdio);
    for (int line = 0; line <= s; ++line) log->append(line_of(writer, serial, s, line) + "\n");
    log->finish();
    step->finish(Results::kSuccess, start.started_at + 1);
  }
  build->finish(Results::kSuccess, start.started_at + 2);
}

// Runs `body` in `count` forked children at once, each with its index; returns
// once all have exited, checking each exited 0.
void in_processes(int count, const std::function<void(int)>& body) {
  std::vector<pid_t> children;
  for (int index = 0; index < count; ++index) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int status = 0;
      try {
        body(index);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", index, e.what());
        status = 1;
      }
      _exit(status);
    }
    children.push_back(child);
  }
  for (const pid_t child : children) {
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

struct Written {
  int writer = 0;
  int serial = 0;
  bool operator<(const Written& other) const {
    return std::tie(writer, serial) < std::tie(other.writer, other.serial);
  }
};

// Reads every build of `builder` back and checks each is exactly what its writer
// wrote; returns who wrote which, by number.
std::map<int, Written> read_back(Store& store, const std::string& builder, int builds) {
  std::map<int, Written> by_number;
  for (int number = 1; number <= builds; ++number) {
    auto build = store.build(builder, number);
    REQUIRE_MESSAGE(build != nullptr, "no build " << builder << "/" << number);
    const Written written{std::stoi(*build->property("writer")),
                          std::stoi(*build->property("serial"))};
    CHECK(build->record().worker == "worker-" + std::to_string(written.writer));
    const auto steps = build->steps();
    REQUIRE(steps.size() == kSteps);
    for (int s = 0; s < kSteps; ++s) {
      const auto logs = steps[s]->logs();
      REQUIRE(logs.size() == 1);
      std::vector<std::string> lines;
      logs[0]->read(0, 0, [&](const LogLine& line) {
        lines.emplace_back(line.text);
        return true;
      });
      REQUIRE(lines.size() == static_cast<std::size_t>(s + 1));
      for (int line = 0; line <= s; ++line) {
        CHECK(lines[line] == line_of(written.writer, written.serial, s, line));
      }
    }
    by_number[number] = written;
  }
  CHECK(store.build(builder, builds + 1) == nullptr);
  return by_number;
}

void check_store(const std::string& path) {
  const auto result = buildhist::testing::buildhist({"--db", path, "check"});
  CHECK_MESSAGE(result.status == 0, result.out << result.err);
}

}  // namespace

TEST_CASE("writer processes on distinct builders lose nothing and merge nothing") {
  for (const int writers : {2, 4}) {
    CAPTURE(writers);
    TempDir dir;
    const std::string path = dir.file("store.db");
    Store::open(path);  // created before the writers race to
    constexpr int kBuilds = 60;
    in_processes(writers, [&](int writer) {
      Options options;
      options.max_batch = 50;  // many commits, interleaved between the processes
      auto store = Store::open(path, options);
      for (int serial = 0; serial < kBuilds; ++serial) {
        write_build(*store, "builder-" + std::to_string(writer), writer, serial);
      }
      store->flush();
    });
    auto store = Store::open(path);
    for (int writer = 0; writer < writers; ++writer) {
      const auto by_number = read_back(*store, "builder-" + std::to_string(writer), kBuilds);
      for (const auto& [number, written] : by_number) {
        CHECK(written.writer == writer);
        CHECK(written.serial == number - 1);  // one writer: numbered in its order
      }
    }
    check_store(path);
  }
}

TEST_CASE("writer processes on one builder never give a number twice") {
  for (const int writers : {2, 4}) {
    CAPTURE(writers);
    TempDir dir;
    const std::string path = dir.file("store.db");
    Store::open(path);
    constexpr int kBuilds = 40;
    in_processes(writers, [&](int writer) {
      Options options;
      options.max_batch = 50;
      auto store = Store::open(path, options);
      for (int serial = 0; serial < kBuilds; ++serial) {
        write_build(*store, "shared", writer, serial);
        // And one of its own, so held and shared builders mix in one process.
        write_build(*store, "own-" + std::to_string(writer), writer, serial);
      }
      store->flush();
    });
    auto store = Store::open(path);
    const auto by_number = read_back(*store, "shared", writers * kBuilds);
    std::set<Written> seen;
    std::map<int, int> last_serial;  // per writer: its builds keep their order
    for (const auto& [number, written] : by_number) {
      CHECK(seen.insert(written).second);  // no build twice
      const auto previous = last_serial.find(written.writer);
      if (previous != last_serial.end()) CHECK(written.serial > previous->second);
      last_serial[written.writer] = written.serial;
    }
    CHECK(seen.size() == static_cast<std::size_t>(writers * kBuilds));
    for (int writer = 0; writer < writers; ++writer) {
      read_back(*store, "own-" + std::to_string(writer), kBuilds);
    }
    check_store(path);
  }
}

TEST_CASE("a writer that died holding a builder's numbering is taken over") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  in_processes(1, [&](int) {
    auto store = Store::open(path);
    write_build(*store, "b", 0, 0);
    store->flush();
    _exit(0);  // dies without closing: its hold on "b" stays in the store
  });
  auto store = Store::open(path);
  write_build(*store, "b", 1, 0);
  store->flush();
  const auto by_number = read_back(*store, "b", 2);
  CHECK(by_number.at(1).writer == 0);
  CHECK(by_number.at(2).writer == 1);
}

TEST_CASE("two stores in one process on one builder hand its numbering over") {
  TempDir dir;
  const std::string path = dir.file("store.db");
  auto first = Store::open(path);
  auto second = Store::open(path);
  write_build(*first, "b", 0, 0);  // first holds b
  write_build(*second, "b", 1, 0);  // asks first for it, which hands it over
  write_build(*first, "b", 0, 1);  // now numbered through the database
  first->flush();
  second->flush();
  CHECK(first->build("b", 1) != nullptr);
  CHECK(second->build("b", 2) != nullptr);
  CHECK(first->build("b", 3) != nullptr);
  const auto by_number = read_back(*first, "b", 3);
  CHECK(by_number.at(1).writer == 0);
  CHECK(by_number.at(2).writer == 1);
  CHECK(by_number.at(3).writer == 0);
}
