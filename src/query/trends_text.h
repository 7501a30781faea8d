// The words and numbers trends are printed with, shared by the text report and the
// HTML table so that both say the same.
#ifndef BUILDHIST_QUERY_TRENDS_TEXT_H_
#define BUILDHIST_QUERY_TRENDS_TEXT_H_

#include <optional>
#include <string>

#include "buildhist/trends.h"

namespace buildhist::internal {

// "2026-11-22T00:00:00Z" for a time bucket (its start), "#11-#20" for builds.
std::string bucket_label(const TrendBucket& bucket);
// "BUILDER" or "BUILDER/STEP".
std::string series_name(const TrendBucket& bucket);
// "12.5%"; "-" for nullopt. With `sign`, "+12.5%".
std::string percent_text(std::optional<double> rate, bool sign = false);

}  // namespace buildhist::internal

#endif  // BUILDHIST_QUERY_TRENDS_TEXT_H_
