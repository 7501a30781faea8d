// Trends drawn: one panel per series, p50 and p90 as lines over failure-rate bars.
// Positions are computed from the bucket's index in its series, so that a series
// with gaps still reads left to right; the axis labels say which bucket is where.
#include <algorithm>
#include <cstdio>
#include <ostream>
#include <string>
#include <tuple>

#include "buildhist/error.h"
#include "buildhist/report.h"
#include "buildhist/trends_report.h"
#include "query/trends_text.h"

namespace buildhist {

namespace {

constexpr double kWidth = 760, kPanelHeight = 220;
constexpr double kLeft = 70, kRight = 690, kTop = 34, kBottom = 180;
constexpr const char* kP50Colour = "#1f77b4";
constexpr const char* kP90Colour = "#ff7f0e";
constexpr const char* kFailureColour = "#d62728";

std::string xml_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", value);
  return text;
}

// A series' buckets: [first, last) of the vector, all of one builder and step.
struct Series {
  std::size_t first;
  std::size_t last;
};

std::vector<Series> split_series(const std::vector<TrendBucket>& buckets) {
  std::vector<Series> series;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (i == 0 || buckets[i].builder != buckets[i - 1].builder ||
        buckets[i].step != buckets[i - 1].step) {
      series.push_back({i, i + 1});
    } else {
      series.back().last = i + 1;
    }
  }
  return series;
}

std::string axis_label(const TrendBucket& bucket) {
  if (bucket.of_builds) return "#" + std::to_string(bucket.first_number);
  return format_time(bucket.start).substr(0, bucket.end - bucket.start == 3600 ? 16 : 10);
}

void panel(const std::vector<TrendBucket>& buckets, const Series& series, double y0,
           std::ostream& out) {
  const std::size_t n = series.last - series.first;
  std::int64_t top = 1;
  for (std::size_t i = series.first; i < series.last; ++i) {
    if (buckets[i].duration) top = std::max(top, buckets[i].duration->p90);
  }
  const double slot = (kRight - kLeft) / static_cast<double>(n);
  const auto x = [&](std::size_t i) { return kLeft + slot * (static_cast<double>(i) + 0.5); };
  const auto y = [&](double fraction) { return y0 + kBottom - (kBottom - kTop) * fraction; };
  const std::string name = xml_escaped(internal::series_name(buckets[series.first]));
  out << "<g class=\"panel\" data-series=\"" << name << "\">\n";
  out << "<rect x=\"0\" y=\"" << number(y0) << "\" width=\"" << number(kWidth) << "\" height=\""
      << number(kPanelHeight) << "\" fill=\"#ffffff\"/>\n";
  out << "<text x=\"" << number(kLeft) << "\" y=\"" << number(y0 + 20)
      << "\" font-size=\"14\" font-weight=\"bold\">" << name << "</text>\n";
  // Failure-rate bars, against the right axis.
  for (std::size_t i = 0; i < n; ++i) {
    const TrendBucket& bucket = buckets[series.first + i];
    const double height = (kBottom - kTop) * bucket.failure_rate;
    out << "<rect class=\"failure\" data-series=\"" << name << "\" x=\""
        << number(x(i) - slot * 0.35) << "\" y=\"" << number(y0 + kBottom - height)
        << "\" width=\"" << number(slot * 0.7) << "\" height=\"" << number(height)
        << "\" fill=\"" << kFailureColour << "\" fill-opacity=\"0.6\"/>\n";
  }
  // Duration lines, against the left axis.
  for (const auto& [cls, colour, field] :
       {std::tuple{"p50", kP50Colour, &DurationFigures::p50},
        std::tuple{"p90", kP90Colour, &DurationFigures::p90}}) {
    out << "<polyline class=\"" << cls << "\" data-series=\"" << name << "\" fill=\"none\" stroke=\""
        << colour << "\" stroke-width=\"2.5\" points=\"";
    for (std::size_t i = 0; i < n; ++i) {
      const TrendBucket& bucket = buckets[series.first + i];
      if (!bucket.duration) continue;
      out << number(x(i)) << ","
          << number(y(static_cast<double>((*bucket.duration).*field) / static_cast<double>(top)))
          << " ";
    }
    out << "\"/>\n";
  }
  // Axes: seconds on the left, failure rate on the right, buckets along the bottom.
  out << "<g stroke=\"#333333\"><line x1=\"" << number(kLeft) << "\" y1=\"" << number(y(0))
      << "\" x2=\"" << number(kRight) << "\" y2=\"" << number(y(0)) << "\"/><line x1=\""
      << number(kLeft) << "\" y1=\"" << number(y(0)) << "\" x2=\"" << number(kLeft)
      << "\" y2=\"" << number(y(1)) << "\"/><line x1=\"" << number(kRight) << "\" y1=\""
      << number(y(0)) << "\" x2=\"" << number(kRight) << "\" y2=\"" << number(y(1))
      << "\"/></g>\n";
  out << "<g font-size=\"11\" fill=\"#333333\">\n";
  out << "<text x=\"" << number(kLeft - 6) << "\" y=\"" << number(y(1) + 4)
      << "\" text-anchor=\"end\">" << top << " s</text>\n";
  out << "<text x=\"" << number(kLeft - 6) << "\" y=\"" << number(y(0) + 4)
      << "\" text-anchor=\"end\">0 s</text>\n";
  out << "<text x=\"" << number(kRight + 6) << "\" y=\"" << number(y(1) + 4)
      << "\">100% failed</text>\n";
  out << "<text x=\"" << number(kRight + 6) << "\" y=\"" << number(y(0) + 4) << "\">0%</text>\n";
  const std::size_t step = std::max<std::size_t>(1, n / 6);
  for (std::size_t i = 0; i < n; i += step) {
    out << "<text x=\"" << number(x(i)) << "\" y=\"" << number(y(0) + 16)
        << "\" text-anchor=\"middle\">" << xml_escaped(axis_label(buckets[series.first + i]))
        << "</text>\n";
  }
  out << "<text x=\"" << number(kRight) << "\" y=\"" << number(y0 + kPanelHeight - 4)
      << "\" text-anchor=\"end\">duration p50 (blue), p90 (orange); failure rate (red bars)"
      << "</text>\n</g>\n</g>\n";
}

void check(std::ostream& out) {
  out.flush();
  if (!out) throw Error(ErrorCode::kIO, "could not write the picture");
}

void svg(const std::vector<TrendBucket>& buckets, std::ostream& out) {
  const auto series = split_series(buckets);
  const double height = kPanelHeight * static_cast<double>(std::max<std::size_t>(1, series.size()));
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << number(kWidth) << "\" height=\""
      << number(height) << "\" viewBox=\"0 0 " << number(kWidth) << " " << number(height)
      << "\" font-family=\"sans-serif\">\n";
  if (series.empty()) {
    out << "<text x=\"20\" y=\"40\">no builds in the range</text>\n";
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    panel(buckets, series[i], kPanelHeight * static_cast<double>(i), out);
  }
  out << "</svg>\n";
}

}  // namespace

void write_trends_svg(const std::vector<TrendBucket>& buckets, std::ostream& out) {
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg(buckets, out);
  check(out);
}

void write_trends_html(const std::vector<TrendBucket>& buckets, std::ostream& out) {
  out << "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
         "<meta charset=\"utf-8\"/>\n<title>buildhist trends</title>\n<style>"
         "body{font-family:sans-serif;margin:16px;background:#ffffff}"
         "table{border-collapse:collapse}td,th{border:1px solid #cccccc;padding:2px 6px;"
         "text-align:right}</style>\n</head>\n<body>\n<h1>buildhist trends</h1>\n";
  svg(buckets, out);
  out << "<table>\n<tr><th>series</th><th>bucket</th><th>runs</th><th>running</th>"
         "<th>failure rate</th><th>p50 (s)</th><th>p90 (s)</th><th>max (s)</th>"
         "<th>p50 change</th></tr>\n";
  for (const TrendBucket& bucket : buckets) {
    out << "<tr><td>" << xml_escaped(internal::series_name(bucket)) << "</td><td>"
        << xml_escaped(internal::bucket_label(bucket)) << "</td><td>" << bucket.runs
        << "</td><td>" << bucket.running << "</td><td>"
        << internal::percent_text(bucket.failure_rate) << "</td>";
    for (auto field : {&DurationFigures::p50, &DurationFigures::p90, &DurationFigures::max}) {
      out << "<td>" << (bucket.duration ? std::to_string((*bucket.duration).*field) : "-")
          << "</td>";
    }
    out << "<td>" << internal::percent_text(bucket.p50_change, true) << "</td></tr>\n";
  }
  out << "</table>\n</body>\n</html>\n";
  check(out);
}

}  // namespace buildhist
