#include "transfer/jsonl_format.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>
#include <vector>

#include "buildhist/error.h"
#include "util/exact_numbers.h"
#include "util/utf8.h"
#include "transfer/build_sink.h"

namespace buildhist::transfer {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using Value = rapidjson::Value;

void string(Writer& json, std::string_view text) {
  std::string scratch;
  const std::string_view valid = internal::valid_utf8(text, scratch);
  json.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

void key(Writer& json, const char* name) { json.Key(name); }

void optional_int(Writer& json, const char* name, const std::optional<std::int64_t>& value) {
  key(json, name);
  if (value) {
    json.Int64(*value);
  } else {
    json.Null();
  }
}

void results(Writer& json, const std::optional<Results>& value) {
  key(json, "results");
  if (value) {
    string(json, results_name(*value));
  } else {
    json.Null();
  }
}

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); }

const Value& field(const Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd()) bad(std::string("no field \"") + name + "\"");
  return it->value;
}

// A JSON string's text, which must be UTF-8: RapidJSON keeps the bytes of the
// input and decodes a lone surrogate escape ("\udc00") to bytes that are not,
// which build_line would then repair, and so not write back what it read.
std::string utf8_text(const Value& value, const std::string& what) {
  const std::string_view text(value.GetString(), value.GetStringLength());
  std::string scratch;
  if (internal::valid_utf8(text, scratch).data() != text.data()) {
    bad(what + " is not UTF-8");
  }
  return std::string(text);
}

std::string text_field(const Value& object, const char* name) {
  const Value& value = field(object, name);
  if (!value.IsString()) bad(std::string("\"") + name + "\" is not a string");
  return utf8_text(value, std::string("\"") + name + "\"");
}

// `value` as compact JSON, as canonical_json writes it, without recursion: a
// property value may be nested a million deep, which must cost heap, not stack.
std::string compact_json(const Value& value) {
  rapidjson::StringBuffer buffer;
  Writer json(buffer);
  // Each array or object being written, and the index of its next element or member.
  std::vector<std::pair<const Value*, rapidjson::SizeType>> open;
  const auto write = [&](const Value& v) {
    if (v.IsArray()) {
      json.StartArray();
      open.emplace_back(&v, 0);
    } else if (v.IsObject()) {
      json.StartObject();
      open.emplace_back(&v, 0);
    } else {
      v.Accept(json);  // a scalar: no recursion
    }
  };
  write(value);
  while (!open.empty()) {
    const Value& container = *open.back().first;
    const rapidjson::SizeType next = open.back().second++;
    if (container.IsArray()) {
      if (next == container.Size()) {
        json.EndArray(next);
        open.pop_back();
      } else {
        write(container[next]);
      }
    } else if (next == container.MemberCount()) {
      json.EndObject(next);
      open.pop_back();
    } else {
      const auto& member = container.MemberBegin()[next];
      json.Key(member.name.GetString(), member.name.GetStringLength());
      write(member.value);
    }
  }
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::int64_t int_field(const Value& object, const char* name) {
  const Value& value = field(object, name);
  if (!value.IsInt64()) bad(std::string("\"") + name + "\" is not an integer");
  return value.GetInt64();
}

std::optional<std::int64_t> optional_int_field(const Value& object, const char* name) {
  if (field(object, name).IsNull()) return std::nullopt;
  return int_field(object, name);
}

bool bool_field(const Value& object, const char* name) {
  const Value& value = field(object, name);
  if (!value.IsBool()) bad(std::string("\"") + name + "\" is not true or false");
  return value.GetBool();
}

const Value& array_field(const Value& object, const char* name) {
  const Value& value = field(object, name);
  if (!value.IsArray()) bad(std::string("\"") + name + "\" is not an array");
  return value;
}

std::optional<Results> results_field(const Value& object) {
  const Value& value = field(object, "results");
  if (value.IsNull()) return std::nullopt;
  const auto parsed = value.IsString() ? results_from_name(value.GetString()) : std::nullopt;
  if (!parsed) bad("\"results\" is not a result's name or null");
  return parsed;
}

int int32_field(const Value& object, const char* name) {
  const std::int64_t value = int_field(object, name);
  if (value < 0 || value > 2147483647) bad(std::string("\"") + name + "\" is out of range");
  return static_cast<int>(value);
}

BuildDetail parse_build(const Value& line) {
  if (int_field(line, "format") != kFormatVersion) {
    bad("format " + std::to_string(int_field(line, "format")) + " is not " +
        std::to_string(kFormatVersion));
  }
  BuildDetail detail;
  BuildRecord& build = detail.build;
  build.builder = text_field(line, "builder");
  build.number = int32_field(line, "number");
  if (build.builder.empty() || build.number < 1) bad("an empty builder or a number below 1");
  build.worker = text_field(line, "worker");
  build.started_at = int_field(line, "started_at");
  build.complete_at = optional_int_field(line, "complete_at");
  build.state_string = text_field(line, "state_string");
  build.results = results_field(line);
  for (const Value& p : array_field(line, "properties").GetArray()) {
    if (!p.IsObject()) bad("a property is not an object");
    detail.properties.push_back(
        {text_field(p, "name"), compact_json(field(p, "value")), text_field(p, "source")});
  }
  for (const Value& s : array_field(line, "steps").GetArray()) {
    if (!s.IsObject()) bad("a step is not an object");
    StepDetail& step = detail.steps.emplace_back();
    step.step.number = int32_field(s, "number");
    step.step.name = text_field(s, "name");
    step.step.started_at = optional_int_field(s, "started_at");
    step.step.complete_at = optional_int_field(s, "complete_at");
    step.step.state_string = text_field(s, "state_string");
    step.step.results = results_field(s);
    step.step.hidden = bool_field(s, "hidden");
    for (const Value& u : array_field(s, "urls").GetArray()) {
      if (!u.IsObject()) bad("a url is not an object");
      step.step.urls.push_back({text_field(u, "name"), text_field(u, "url")});
    }
    for (const Value& l : array_field(s, "logs").GetArray()) {
      if (!l.IsObject()) bad("a log is not an object");
      LogRecord& log = step.logs.emplace_back();
      log.slug = text_field(l, "slug");
      log.name = text_field(l, "name");
      const std::string type = text_field(l, "type");
      if (type != "s" && type != "t" && type != "h") bad("\"type\" is not s, t or h");
      log.type = static_cast<LogType>(type[0]);
      log.num_lines = int_field(l, "num_lines");
      if (log.num_lines < 0) bad("\"num_lines\" is negative");
      log.complete = bool_field(l, "complete");
      // Exports made before schema 3 have no purged_at.
      if (l.HasMember("purged_at")) log.purged_at = optional_int_field(l, "purged_at");
    }
  }
  return detail;
}

TextRecord parse_text(const Value& line) {
  TextRecord text;
  text.step = int32_field(line, "step");
  text.slug = text_field(line, "log");
  text.first_line = int_field(line, "first_line");
  for (const Value& l : array_field(line, "lines").GetArray()) {
    if (!l.IsString()) bad("a line is not a string");
    text.lines.push_back(utf8_text(l, "a line"));
  }
  if (text.lines.empty()) bad("a text record without lines");
  return text;
}

}  // namespace

std::string build_line(const BuildDetail& detail, bool with_text) {
  rapidjson::StringBuffer buffer;
  Writer json(buffer);
  const BuildRecord& build = detail.build;
  json.StartObject();
  key(json, "format");
  json.Int(kFormatVersion);
  key(json, "builder");
  string(json, build.builder);
  key(json, "number");
  json.Int(build.number);
  key(json, "worker");
  string(json, build.worker);
  key(json, "started_at");
  json.Int64(build.started_at);
  optional_int(json, "complete_at", build.complete_at);
  key(json, "state_string");
  string(json, build.state_string);
  results(json, build.results);
  key(json, "log_text");
  json.Bool(with_text);
  key(json, "properties");
  json.StartArray();
  for (const Property& p : detail.properties) {
    json.StartObject();
    key(json, "name");
    string(json, p.name);
    key(json, "value");
    const std::string value = canonical_json(p.value);
    json.RawValue(value.data(), value.size(), rapidjson::kObjectType);
    key(json, "source");
    string(json, p.source);
    json.EndObject();
  }
  json.EndArray();
  key(json, "steps");
  json.StartArray();
  for (const StepDetail& s : detail.steps) {
    const StepRecord& step = s.step;
    json.StartObject();
    key(json, "number");
    json.Int(step.number);
    key(json, "name");
    string(json, step.name);
    optional_int(json, "started_at", step.started_at);
    optional_int(json, "complete_at", step.complete_at);
    key(json, "state_string");
    string(json, step.state_string);
    results(json, step.results);
    key(json, "hidden");
    json.Bool(step.hidden);
    key(json, "urls");
    json.StartArray();
    for (const Url& url : step.urls) {
      json.StartObject();
      key(json, "name");
      string(json, url.name);
      key(json, "url");
      string(json, url.url);
      json.EndObject();
    }
    json.EndArray();
    key(json, "logs");
    json.StartArray();
    for (const LogRecord& log : s.logs) {
      json.StartObject();
      key(json, "slug");
      string(json, log.slug);
      key(json, "name");
      string(json, log.name);
      key(json, "type");
      const char type[2] = {static_cast<char>(log.type), '\0'};
      string(json, type);
      key(json, "num_lines");
      json.Int64(log.num_lines);
      key(json, "complete");
      json.Bool(log.complete);
      key(json, "purged_at");
      if (log.purged_at) {
        json.Int64(*log.purged_at);
      } else {
        json.Null();
      }
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string text_line(const TextRecord& text) {
  rapidjson::StringBuffer buffer;
  Writer json(buffer);
  json.StartObject();
  key(json, "step");
  json.Int(text.step);
  key(json, "log");
  string(json, text.slug);
  key(json, "first_line");
  json.Int64(text.first_line);
  key(json, "lines");
  json.StartArray();
  for (const std::string& line : text.lines) string(json, line);
  json.EndArray();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

ParsedLine parse_line(std::string_view line) {
  // Iteratively, so that nesting costs the document's heap, not the stack; and
  // each number as the double nearest it, which is what build_line's shortest
  // form of that double reads back as.
  rapidjson::Document document;
  rapidjson::ParseResult result;
  auto read = [&](rapidjson::Document& handler) {
    result = internal::read_exactly(line, handler);
    return !result.IsError();
  };
  document.Populate(read);
  if (result.IsError()) {
    bad(std::string("not JSON (") + rapidjson::GetParseError_En(result.Code()) + " at byte " +
        std::to_string(result.Offset()) + ")");
  }
  if (!document.IsObject()) bad("not a JSON object");
  ParsedLine parsed;
  if (document.HasMember("format")) {
    parsed.is_build = true;
    parsed.build = parse_build(document);
    parsed.with_text = bool_field(document, "log_text");
  } else {
    parsed.text = parse_text(document);
  }
  return parsed;
}

}  // namespace buildhist::transfer
