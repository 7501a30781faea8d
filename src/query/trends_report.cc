#include "buildhist/trends_report.h"

#include <cstdio>
#include <ostream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "buildhist/error.h"
#include "buildhist/reference.h"
#include "query/trends_text.h"
#include "util/utf8.h"

namespace buildhist {

namespace internal {

std::string bucket_label(const TrendBucket& bucket) {
  if (bucket.of_builds) {
    return "#" + std::to_string(bucket.first_number) + "-#" + std::to_string(bucket.last_number);
  }
  return format_time(bucket.start);
}

std::string series_name(const TrendBucket& bucket) {
  return bucket.step.empty() ? bucket.builder : bucket.builder + "/" + escape_reference_part(bucket.step);
}

std::string percent_text(std::optional<double> rate, bool sign) {
  if (!rate) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), sign ? "%+.1f%%" : "%.1f%%", *rate * 100.0);
  return text;
}

}  // namespace internal

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void json_string(JsonWriter& json, std::string_view text) {
  std::string scratch;
  text = internal::valid_utf8(text, scratch);
  json.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void json_optional(JsonWriter& json, std::optional<double> value) {
  if (value) {
    json.Double(*value);
  } else {
    json.Null();
  }
}

void write_line(std::ostream& out, const rapidjson::StringBuffer& buffer) {
  out.write(buffer.GetString(), static_cast<std::streamsize>(buffer.GetSize()));
  out.put('\n');
}

void bucket_json(std::ostream& out, const TrendBucket& bucket) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("builder"), json_string(json, bucket.builder);
  json.Key("step");
  if (bucket.step.empty()) {
    json.Null();
  } else {
    json_string(json, bucket.step);
  }
  json.Key("start"), json.Int64(bucket.start);
  json.Key("end"), json.Int64(bucket.end);
  json.Key("first_number"), json.Int(bucket.first_number);
  json.Key("last_number"), json.Int(bucket.last_number);
  json.Key("runs"), json.Int64(bucket.runs);
  json.Key("running"), json.Int64(bucket.running);
  json.Key("results");
  json.StartObject();
  for (std::size_t code = 0; code < bucket.results.size(); ++code) {
    json.Key(results_name(static_cast<Results>(code)).data());
    json.Int64(bucket.results[code]);
  }
  json.EndObject();
  json.Key("failure_rate"), json.Double(bucket.failure_rate);
  json.Key("duration");
  if (bucket.duration) {
    json.StartObject();
    json.Key("p50"), json.Int64(bucket.duration->p50);
    json.Key("p90"), json.Int64(bucket.duration->p90);
    json.Key("max"), json.Int64(bucket.duration->max);
    json.EndObject();
  } else {
    json.Null();
  }
  json.Key("p50_change"), json_optional(json, bucket.p50_change);
  json.Key("failure_rate_change"), json_optional(json, bucket.failure_rate_change);
  json.EndObject();
  write_line(out, buffer);
}

void flaky_json(std::ostream& out, const FlakyStep& step) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  json.StartObject();
  json.Key("builder"), json_string(json, step.builder);
  json.Key("step"), json_string(json, step.step);
  json.Key("runs"), json.Int64(step.runs);
  json.Key("failures"), json.Int64(step.failures);
  json.Key("flips"), json.Int64(step.flips);
  json.Key("flip_rate"), json.Double(step.flip_rate);
  json.Key("same_key_values"), json.Int64(step.same_key_values);
  json.Key("evidence");
  json.StartArray();
  for (const FlakyEvidence& evidence : step.evidence) {
    json.StartObject();
    json.Key("reference"), json_string(json, evidence.reference);
    json.Key("results"), json_string(json, results_name(evidence.results));
    const bool same_key = evidence.kind == FlakyEvidence::Kind::kSameKey;
    json.Key("kind"), json_string(json, same_key ? "same_key" : "flip");
    json.Key("key_value");
    if (same_key) {
      json_string(json, evidence.key_value);
    } else {
      json.Null();
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  write_line(out, buffer);
}

std::string pad(std::string text, std::size_t width, bool right = false) {
  if (text.size() >= width) return text;
  const std::string fill(width - text.size(), ' ');
  return right ? fill + text : text + fill;
}

std::string seconds_text(const std::optional<DurationFigures>& duration,
                         std::int64_t DurationFigures::*field) {
  return duration ? std::to_string((*duration).*field) + "s" : "-";
}

constexpr std::size_t kSeriesWidth = 28;
constexpr std::size_t kBucketWidth = 20;  // "2026-11-22T10:00:00Z"

std::string bucket_row(const std::string& series, const std::string& bucket,
                       const std::vector<std::string>& figures) {
  std::string row = pad(series, kSeriesWidth) + "  " + pad(bucket, kBucketWidth);
  for (const std::string& figure : figures) row += "  " + pad(figure, 7, true);
  return row;
}

void finish(std::ostream& out) {
  out.flush();
  if (!out) throw Error(ErrorCode::kIO, "could not write the output");
}

}  // namespace

void TrendsReport::trends(const TrendQuery& query, std::vector<TrendBucket>* kept) {
  const bool by_builds = query.bucket.kind == Bucketing::Kind::kBuilds;
  bool header = false;
  history_.trends(query, [&](const TrendBucket& bucket) {
    if (kept != nullptr) kept->push_back(bucket);
    if (format_ == Format::kJson) {
      bucket_json(out_, bucket);
      return static_cast<bool>(out_);
    }
    if (!header) {
      out_ << bucket_row("SERIES", by_builds ? "BUILDS" : "BUCKET",
                         {"RUNS", "RUNNING", "SUCCESS", "WARN", "FAILED", "FAIL%", "P50", "P90",
                          "MAX", "P50CHG", "FAILCHG"})
           << "\n";
      header = true;
    }
    const auto& r = bucket.results;
    const std::int64_t failed = r[static_cast<int>(Results::kFailure)] +
                                r[static_cast<int>(Results::kException)];
    const bool finished = bucket.runs > bucket.running;
    out_ << bucket_row(internal::series_name(bucket), internal::bucket_label(bucket),
                       {std::to_string(bucket.runs), std::to_string(bucket.running),
                        std::to_string(r[static_cast<int>(Results::kSuccess)]),
                        std::to_string(r[static_cast<int>(Results::kWarnings)]),
                        std::to_string(failed),
                        internal::percent_text(finished ? std::optional(bucket.failure_rate)
                                                        : std::nullopt),
                        seconds_text(bucket.duration, &DurationFigures::p50),
                        seconds_text(bucket.duration, &DurationFigures::p90),
                        seconds_text(bucket.duration, &DurationFigures::max),
                        internal::percent_text(bucket.p50_change, true),
                        internal::percent_text(bucket.failure_rate_change, true)})
         << "\n";
    return static_cast<bool>(out_);
  });
  finish(out_);
}

std::size_t TrendsReport::flaky(const FlakyQuery& query) {
  std::size_t count = 0;
  bool header = false;
  history_.flaky(query, [&](const FlakyStep& step) {
    ++count;
    if (format_ == Format::kJson) {
      flaky_json(out_, step);
      return static_cast<bool>(out_);
    }
    if (!header) {
      out_ << pad("BUILDER", 16) << "  " << pad("STEP", 12) << "  " << pad("RUNS", 7, true)
           << "  " << pad("FAILED", 7, true) << "  " << pad("FLIPS", 7, true) << "  "
           << pad("FLIP%", 7, true) << "  " << pad("SAMEKEY", 7, true) << "  EVIDENCE\n";
      header = true;
    }
    std::string evidence;
    for (const FlakyEvidence& item : step.evidence) {
      if (!evidence.empty()) evidence += ' ';
      evidence += item.reference + ":" + std::string(results_name(item.results));
    }
    out_ << pad(step.builder, 16) << "  " << pad(step.step, 12) << "  "
         << pad(std::to_string(step.runs), 7, true) << "  "
         << pad(std::to_string(step.failures), 7, true) << "  "
         << pad(std::to_string(step.flips), 7, true) << "  "
         << pad(internal::percent_text(step.flip_rate), 7, true) << "  "
         << pad(std::to_string(step.same_key_values), 7, true) << "  " << evidence << "\n";
    return static_cast<bool>(out_);
  });
  finish(out_);
  return count;
}

}  // namespace buildhist
