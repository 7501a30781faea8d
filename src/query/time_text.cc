// ISO 8601 times, as the command prints and reads them (declared in report.h).
//
// The calendar is the standard library's (<chrono>: year_month_day, sys_days),
// proleptic Gregorian in UTC, so that no time zone database, locale or libc's
// timegm takes part; this file only reads and writes the text.
#include <chrono>
#include <cinttypes>
#include <charconv>
#include <cstdio>
#include <limits>

#include "buildhist/error.h"
#include "buildhist/report.h"
#include "util/quoted.h"

namespace buildhist {

namespace {

[[noreturn]] void bad_time(std::string_view text, std::string_view why) {
  throw Error(ErrorCode::kInvalidArgument,
              "malformed time " + internal::quoted(text) + ": " + std::string(why) +
                  " (expected 2026-11-22, 2026-11-22T10:00:00Z or epoch seconds)");
}

// Reads exactly `digits` decimal digits at `at`, advancing it.
std::optional<int> take_digits(std::string_view text, std::size_t& at, std::size_t digits) {
  if (at + digits > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  at += digits;
  return value;
}

bool take(std::string_view text, std::size_t& at, char c) {
  if (at < text.size() && text[at] == c) {
    ++at;
    return true;
  }
  return false;
}

}  // namespace

std::string format_time(std::int64_t epoch_seconds) {
  using namespace std::chrono;
  // Years 0000 to 9999, what four digits hold. The library refuses times outside
  // 1970..9999, so another is a damaged or foreign store's, and shown as "?".
  constexpr std::int64_t kFirst = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kLast = 253402300799;   // 9999-12-31T23:59:59Z
  if (epoch_seconds < kFirst || epoch_seconds > kLast) return "?";
  const sys_seconds time{seconds(epoch_seconds)};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02" PRId64 ":%02" PRId64 ":%02" PRId64 "Z",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<std::int64_t>(clock.hours().count()),
                static_cast<std::int64_t>(clock.minutes().count()),
                static_cast<std::int64_t>(clock.seconds().count()));
  return text;
}

std::int64_t parse_time(std::string_view text) {
  if (text.empty()) bad_time(text, "it is empty");
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t seconds = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (error != std::errc() || end != text.data() + text.size()) bad_time(text, "out of range");
    return seconds;
  }
  std::size_t at = 0;
  const auto year = take_digits(text, at, 4);
  const bool dash1 = take(text, at, '-');
  const auto month = take_digits(text, at, 2);
  const bool dash2 = take(text, at, '-');
  const auto day = take_digits(text, at, 2);
  if (!year || !dash1 || !month || !dash2 || !day) bad_time(text, "no date YYYY-MM-DD");
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) bad_time(text, "no such date");
  int hour = 0, minute = 0, second = 0, offset_minutes = 0;
  if (at < text.size()) {
    if (!take(text, at, 'T') && !take(text, at, ' ')) bad_time(text, "expected 'T' after the date");
    const auto h = take_digits(text, at, 2);
    const bool colon = take(text, at, ':');
    const auto m = take_digits(text, at, 2);
    if (!h || !colon || !m) bad_time(text, "no time HH:MM[:SS]");
    hour = *h, minute = *m;
    if (take(text, at, ':')) {
      const auto s = take_digits(text, at, 2);
      if (!s) bad_time(text, "no seconds after ':'");
      second = *s;
    }
    if (hour > 23 || minute > 59 || second > 59) bad_time(text, "no such time of day");
    if (take(text, at, 'Z')) {
      // UTC, as with no zone at all.
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      const int sign = text[at++] == '-' ? -1 : 1;
      const auto oh = take_digits(text, at, 2);
      const bool ocolon = take(text, at, ':');
      const auto om = take_digits(text, at, 2);
      if (!oh || !ocolon || !om || *oh > 23 || *om > 59) bad_time(text, "bad zone offset");
      offset_minutes = sign * (*oh * 60 + *om);
    }
    if (at != text.size()) bad_time(text, "unexpected text after the time");
  }
  using namespace std::chrono;
  const sys_seconds time = sys_days(date) + hours(hour) + minutes(minute) + seconds(second) -
                           minutes(offset_minutes);
  return time.time_since_epoch().count();
}

std::int64_t parse_duration(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    throw Error(ErrorCode::kInvalidArgument,
                "malformed duration " + internal::quoted(text) + ": " + std::string(why) +
                    " (expected a whole number and a unit: 90s, 30m, 12h, 30d, 2w)");
  };
  if (text.size() < 2) bad("expected a number and a unit");
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: bad("the unit is not one of s, m, h, d, w");
  }
  const std::string_view number = text.substr(0, text.size() - 1);
  if (number.find_first_not_of("0123456789") != std::string_view::npos) {
    bad("expected a whole number before the unit");
  }
  std::int64_t count = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (error != std::errc() || end != number.data() + number.size() ||
      count > std::numeric_limits<std::int64_t>::max() / unit) {
    bad("out of range");
  }
  return count * unit;
}

}  // namespace buildhist
