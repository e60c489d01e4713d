// Line charts as inline SVG, drawn by modelc (no JavaScript): the loss
// curves of the build report. Axes with "nice" ticks (1, 2, 5 x 10^k) and
// labels, one polyline per series (markers for sparse ones), a legend.
//
// Deterministic text: coordinates are printed with 2 decimals, tick labels
// with the decimals the tick step needs; nothing depends on the locale, time
// or machine. Non-finite points are left out (never "nan" in the SVG).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace modelc {

// An axis range [lo, hi] covering the data, with ticks every `step`.
struct ChartAxis {
  double lo = 0, hi = 1, step = 0.5;
  int decimals = 1;           // for tick labels: enough to tell ticks apart
  std::vector<double> ticks;  // lo, lo + step, ..., hi
};

// The smallest range of multiples of a nice step (1, 2 or 5 x 10^k) that
// covers [min, max] with about `target_ticks` intervals.
// REQUIRES: min, max finite; target_ticks >= 1. min == max gets a range
// around the value (never an empty one).
ChartAxis NiceAxis(double min, double max, int target_ticks = 5);

struct ChartSeries {
  std::string name;       // legend text
  std::string css_class;  // class attribute of its <polyline> (e.g. "train")
  std::string color;      // stroke colour, e.g. "#1f77b4"
  bool markers = false;   // also draw a circle at every point
  std::vector<std::pair<double, double>> points;  // (x, y) in data units, x ascending
};

struct LineChart {
  std::string title, x_label, y_label;  // plain text (escaped when drawn)
  std::string id = "chart";             // id attribute of the <svg>
  std::vector<ChartSeries> series;
  // Pixel layout (viewBox units).
  double width = 960, height = 400;
  double margin_left = 70, margin_right = 20, margin_top = 34, margin_bottom = 50;
};

// Where data units land in the picture: x from the axis range to
// [plot_left, plot_left + plot_width], y to [plot_top + plot_height, plot_top]
// (up is larger).
struct ChartMapping {
  ChartAxis x, y;
  double plot_left = 0, plot_top = 0, plot_width = 0, plot_height = 0;
  double X(double v) const { return plot_left + (v - x.lo) / (x.hi - x.lo) * plot_width; }
  double Y(double v) const { return plot_top + plot_height - (v - y.lo) / (y.hi - y.lo) * plot_height; }
};

// The axes for the finite points of all series: x from 0 when all x >= 0,
// each the tightest NiceAxis over a few tick counts; a chart without points
// gets 0..1 on both axes.
ChartMapping MapChart(const LineChart& c);

// One <svg> element (no XML declaration), for inline use in HTML.
std::string RenderLineChartSvg(const LineChart& c);

// "%.*f" in the C locale, with "-0.00" printed as "0.00".
std::string FormatFixed(double v, int decimals);

}  // namespace modelc
