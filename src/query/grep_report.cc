// print_grep: History::grep's events as `buildhist grep` prints them (docs/grep.md).
#include <ostream>
#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "buildhist/error.h"
#include "buildhist/grep.h"
#include "buildhist/history.h"
#include "buildhist/report.h"
#include "util/utf8.h"

namespace buildhist {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// JSON strings are UTF-8: bytes of no valid sequence become U+FFFD.
void string(JsonWriter& json, std::string_view text) {
  std::string scratch;
  text = internal::valid_utf8(text, scratch);
  json.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

const char* kind_name(GrepEvent::Kind kind) {
  switch (kind) {
    case GrepEvent::Kind::kMatch: return "match";
    case GrepEvent::Kind::kContext: return "context";
    case GrepEvent::Kind::kLog: return "log";
    case GrepEvent::Kind::kCount: return "count";
    case GrepEvent::Kind::kSeparator: break;
  }
  return "separator";
}

void json_event(JsonWriter& json, const GrepEvent& event) {
  const GrepLog& log = *event.log;
  const BuildRecord& build = log.build;
  json.StartObject();
  json.Key("type"), string(json, kind_name(event.kind));
  json.Key("builder"), string(json, build.builder);
  json.Key("number"), json.Int(build.number);
  json.Key("results");
  if (build.results) {
    string(json, results_name(*build.results));
  } else {
    json.Null();
  }
  json.Key("started_at"), json.Int64(build.started_at);
  json.Key("complete_at");
  if (build.complete_at) {
    json.Int64(*build.complete_at);
  } else {
    json.Null();
  }
  json.Key("got_revision");
  if (log.got_revision) {
    std::string scratch;
    const std::string_view value = internal::valid_utf8(*log.got_revision, scratch);
    json.RawValue(value.data(), value.size(), rapidjson::kObjectType);
  } else {
    json.Null();
  }
  json.Key("step"), string(json, log.step_name);
  json.Key("step_number"), json.Int(log.step_number);
  json.Key("log"), string(json, log.slug);
  json.Key("reference"), string(json, log.reference());
  if (event.kind == GrepEvent::Kind::kCount) {
    json.Key("count"), json.Int64(event.count);
  } else if (event.kind != GrepEvent::Kind::kLog) {
    json.Key("line"), json.Int64(event.line);
    json.Key("text"), string(json, event.text);
    if (log.type == LogType::kStdio) {
      json.Key("stream"), string(json, std::string_view(&event.stream, event.stream ? 1 : 0));
    }
  }
  json.EndObject();
}

}  // namespace

GrepSummary print_grep(History& history, const GrepQuery& query, std::ostream& out,
                       Format format) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  const GrepSummary summary = history.grep(query, [&](const GrepEvent& event) {
    const std::string reference = event.log != nullptr ? event.log->reference() : std::string();
    if (format == Format::kJson) {
      if (event.kind == GrepEvent::Kind::kSeparator) return true;
      buffer.Clear();
      json.Reset(buffer);
      json_event(json, event);
      out.write(buffer.GetString(), static_cast<std::streamsize>(buffer.GetSize()));
      out.put('\n');
      return static_cast<bool>(out);
    }
    switch (event.kind) {
      case GrepEvent::Kind::kSeparator:
        out << "--\n";
        break;
      case GrepEvent::Kind::kLog:
        out << reference << '\n';
        break;
      case GrepEvent::Kind::kCount:
        out << reference << ':' << event.count << '\n';
        break;
      case GrepEvent::Kind::kMatch:
      case GrepEvent::Kind::kContext: {
        const char mark = event.kind == GrepEvent::Kind::kMatch ? ':' : '-';
        out << reference << mark << event.line << mark << ' ';
        out.write(event.text.data(), static_cast<std::streamsize>(event.text.size()));
        out.put('\n');
        break;
      }
    }
    return static_cast<bool>(out);
  });
  out.flush();
  if (!out) throw Error(ErrorCode::kIO, "could not write the output");
  return summary;
}

}  // namespace buildhist
