#include "store/handover.h"

#include <algorithm>
#include <thread>

#include "buildhist/error.h"
#include "store/process_token.h"

namespace buildhist::internal {

void wait_for_handover(const ReadHolder& read_holder, const std::string& holder,
                       std::chrono::milliseconds limit, const std::string& what) {
  limit = std::max<std::chrono::milliseconds>(limit, std::chrono::seconds(1));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    const std::optional<std::string> now_held_by = read_holder();
    if (!now_held_by || *now_held_by != holder || process_is_gone(holder)) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorCode::kBusy, what + ": its builds are numbered by " +
                                        describe_token(holder) + ", which has not handed it "
                                        "over in " + std::to_string(limit.count()) + " ms");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace buildhist::internal
