// Reading JSON numbers exactly with RapidJSON 1.1.0, which cannot by itself:
// without kParseFullPrecisionFlag a number reads as a double near the nearest one
// (a third of the doubles its Writer prints read back as another: a property value
// would drift on each export and import), and with it a zero with a large exponent
// ("0e400") reaches DiyFp::Normalize's clz(0), which is undefined behaviour.
//
// ExactNumbers sits between a Reader and a handler (a Document, a Writer): the
// Reader hands it each number as text (kParseNumbersAsStringsFlag), and it passes
// on the integer or the nearest double, read with std::from_chars, as RapidJSON's
// Reader would pass them (Int, Uint, Int64, Uint64 when the text is an integer
// that fits, Double otherwise; a number beyond double's range is refused, one
// below it is zero).
#ifndef BUILDHIST_UTIL_EXACT_NUMBERS_H_
#define BUILDHIST_UTIL_EXACT_NUMBERS_H_

#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>
#include <system_error>

namespace buildhist::internal {

// The flags a Reader needs to read through ExactNumbers: numbers as text, and
// iteratively, so that nesting costs heap, not stack.
inline constexpr unsigned kExactNumberFlags =
    rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;

// Whether `number` (JSON syntax, beyond double's range) is nearer zero than one:
// an underflow rather than an overflow. The power of ten of its first significant
// digit, plus its exponent, is negative.
inline bool below_one(std::string_view number) {
  const std::size_t e = number.find_first_of("eE");
  long long exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = number.substr(e + 1);
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
    for (const char c : digits) {
      exponent = std::min(exponent * 10 + (c - '0'), 1'000'000'000LL);  // far beyond any double
    }
    if (negative) exponent = -exponent;
  }
  std::string_view mantissa = number.substr(0, e);
  if (!mantissa.empty() && mantissa.front() == '-') mantissa.remove_prefix(1);
  const std::size_t point = std::min(mantissa.find('.'), mantissa.size());
  const std::size_t first = mantissa.find_first_not_of("0.");
  if (first == std::string_view::npos) return true;  // zero: never out of range
  const long long power = first < point ? static_cast<long long>(point - first) - 1
                                        : -static_cast<long long>(first - point);
  return power + exponent < 0;
}

template <typename Handler>
class ExactNumbers {
 public:
  explicit ExactNumbers(Handler& handler) : handler_(handler) {}

  bool RawNumber(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    const char* const end = text + length;
    if (std::string_view(text, length).find_first_of(".eE") == std::string_view::npos) {
      if (*text == '-') {
        std::int64_t value = 0;
        if (const auto [at, error] = std::from_chars(text, end, value);
            error == std::errc() && at == end) {
          return value >= std::numeric_limits<int>::min()
                     ? handler_.Int(static_cast<int>(value))
                     : handler_.Int64(value);
        }
      } else {
        std::uint64_t value = 0;
        if (const auto [at, error] = std::from_chars(text, end, value);
            error == std::errc() && at == end) {
          return value <= std::numeric_limits<unsigned>::max()
                     ? handler_.Uint(static_cast<unsigned>(value))
                     : handler_.Uint64(value);
        }
      }
      // Beyond 64 bits: a double, as RapidJSON reads it.
    }
    double value = 0;
    const auto [at, error] = std::from_chars(text, end, value);
    if (error == std::errc::result_out_of_range && below_one({text, length})) {
      value = *text == '-' ? -0.0 : 0.0;
    } else if (error != std::errc() || at != end) {
      return false;  // beyond double's range: the Reader stops, kParseErrorTermination
    }
    return handler_.Double(value);
  }

  bool Null() { return handler_.Null(); }
  bool Bool(bool value) { return handler_.Bool(value); }
  bool Int(int value) { return handler_.Int(value); }
  bool Uint(unsigned value) { return handler_.Uint(value); }
  bool Int64(std::int64_t value) { return handler_.Int64(value); }
  bool Uint64(std::uint64_t value) { return handler_.Uint64(value); }
  bool Double(double value) { return handler_.Double(value); }
  bool String(const char* text, rapidjson::SizeType length, bool copy) {
    return handler_.String(text, length, copy);
  }
  bool StartObject() { return handler_.StartObject(); }
  bool Key(const char* text, rapidjson::SizeType length, bool copy) {
    return handler_.Key(text, length, copy);
  }
  bool EndObject(rapidjson::SizeType members) { return handler_.EndObject(members); }
  bool StartArray() { return handler_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) { return handler_.EndArray(elements); }

 private:
  Handler& handler_;
};

// Reads `json` into `handler` through ExactNumbers, with kExactNumberFlags and
// `kFlags` (kParseStopWhenDoneFlag, say). `json` need not end in a NUL.
template <unsigned kFlags = 0, typename Handler>
rapidjson::ParseResult read_exactly(std::string_view json, Handler& handler) {
  rapidjson::MemoryStream bytes(json.data(), json.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> input(bytes);
  ExactNumbers<Handler> exact(handler);
  rapidjson::Reader reader;
  return reader.Parse<kExactNumberFlags | kFlags>(input, exact);
}

}  // namespace buildhist::internal

#endif  // BUILDHIST_UTIL_EXACT_NUMBERS_H_
