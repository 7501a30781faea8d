// JSON text the store keeps in its columns, read and written through RapidJSON.
#ifndef BUILDHIST_JSON_TEXT_H_
#define BUILDHIST_JSON_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "buildhist/records.h"

namespace buildhist::internal {

// True when `text` is exactly one JSON value.
bool is_json_value(std::string_view text);

// `text` as a JSON string literal, quoted and escaped.
std::string json_quote(std::string_view text);

// A step's URLs as the JSON array stored in step.urls, and back.
std::string urls_to_json(const std::vector<Url>& urls);
std::vector<Url> urls_from_json(std::string_view json);

}  // namespace buildhist::internal

#endif  // BUILDHIST_JSON_TEXT_H_
