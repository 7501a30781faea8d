#include "util/json_text.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "buildhist/error.h"

namespace buildhist::internal {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

bool is_json_value(std::string_view text) {
  // A full parse (not kParseStopWhenDoneFlag) also rejects anything after the value.
  // Iterative, so that a value nested a million deep (a 1 MB property of '[')
  // costs heap, not the caller's stack. Bytes that are not UTF-8 are kept, and
  // repaired where JSON is written (the query layer).
  rapidjson::Document document;
  document.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !document.HasParseError();
}

std::string json_quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  write_string(writer, text);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string urls_to_json(const std::vector<Url>& urls) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (const Url& url : urls) {
    writer.StartObject();
    writer.Key("name");
    write_string(writer, url.name);
    writer.Key("url");
    write_string(writer, url.url);
    writer.EndObject();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::vector<Url> urls_from_json(std::string_view json) {
  if (json == "[]") return {};  // most steps: no parser for them on a refault
  rapidjson::Document document;
  document.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (document.HasParseError() || !document.IsArray()) {
    throw Error(ErrorCode::kCorrupt, "a step's urls column is not a JSON array");
  }
  std::vector<Url> urls;
  urls.reserve(document.Size());
  for (const auto& item : document.GetArray()) {
    if (!item.IsObject() || !item.HasMember("name") || !item.HasMember("url") ||
        !item["name"].IsString() || !item["url"].IsString()) {
      throw Error(ErrorCode::kCorrupt, "a step's urls column has an entry without name and url");
    }
    urls.push_back(Url{std::string(item["name"].GetString(), item["name"].GetStringLength()),
                       std::string(item["url"].GetString(), item["url"].GetStringLength())});
  }
  return urls;
}

}  // namespace buildhist::internal
