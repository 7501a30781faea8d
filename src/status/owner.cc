#include "status/owner.h"

#include <string>

#include "buildhist/error.h"

namespace buildhist::internal {

std::shared_ptr<StatusOwner> open_owner(const std::weak_ptr<StatusOwner>& owner,
                                        const char* what) {
  auto open = owner.lock();
  if (!open) throw Error(ErrorCode::kClosed, std::string(what) + ": the store is closed");
  return open;
}

}  // namespace buildhist::internal
