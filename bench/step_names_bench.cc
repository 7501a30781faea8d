// step_names_bench: the time Build::add_step takes for a build of N steps that all
// share one name, which add_step renames as buildbot does (compile, compile_2, ...).
// Steps are buffered, so the figure is the renaming and the bookkeeping, not SQLite.
//
//   step_names_bench --dir SCRATCH [--steps 10000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "buildhist/buildhist.h"

int main(int argc, char** argv) {
  std::string dir;
  long steps = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--steps") {
      steps = std::strtol(argv[i + 1], nullptr, 10);
    }
  }
  if (dir.empty() || steps < 1) {
    std::fprintf(stderr, "usage: step_names_bench --dir SCRATCH [--steps N]\n");
    return 2;
  }
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / "step_names.db").string();
  std::filesystem::remove(path);
  auto store = buildhist::Store::open(path);
  buildhist::BuildStart start;
  start.worker = "worker";
  start.started_at = 1700000000;
  auto build = store->start_build("names", start);

  const auto begin = std::chrono::steady_clock::now();
  for (long i = 0; i < steps; ++i) build->add_step("compile", start.started_at);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - begin;
  std::printf("%ld steps named compile: %.3f s, last %s\n", steps, seconds.count(),
              build->steps().back()->record().name.c_str());
  return 0;
}
