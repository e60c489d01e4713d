#include "report/svg.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>

#include "report/html.h"

namespace modelc {

std::string FormatFixed(double v, int decimals) {
  if (!std::isfinite(v)) return "0";  // never reached for drawn values; keeps the SVG valid
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  std::string s(buf, r.ptr);
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // -0.00
  return s;
}

ChartAxis NiceAxis(double min, double max, int target_ticks) {
  if (target_ticks < 1) target_ticks = 1;
  if (max < min) std::swap(min, max);
  const double scale = std::max({1.0, std::fabs(min), std::fabs(max)});
  if (max - min <= 1e-9 * scale) {  // one value: a range around it
    const double half = min == 0 ? 1.0 : std::fabs(min) * 0.1;
    min -= half;
    max += half;
  }
  const double raw = (max - min) / target_ticks;
  // p = the power of ten with p <= raw < 10 p (by multiplication: exact for
  // p >= 1, and the same on every machine).
  double p = 1;
  for (int i = 0; i < 400 && p > raw; ++i) p /= 10;
  for (int i = 0; i < 400 && p * 10 <= raw; ++i) p *= 10;
  double step = 10 * p;
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  ChartAxis a;
  a.step = step;
  const double k0 = std::floor(min / step), k1 = std::ceil(max / step);
  a.lo = k0 * step;
  a.hi = k1 * step;
  if (a.hi <= a.lo) a.hi = a.lo + step;
  for (double k = k0; k <= k1 + 0.5; k += 1) a.ticks.push_back(k * step);
  a.decimals = 0;
  for (double q = p; q < 0.999999 && a.decimals < 12; q *= 10) ++a.decimals;
  return a;
}

namespace {

// Of the nice axes for a few tick counts, the one that wastes least space
// (700 steps: 0..700 by 100 rather than 0..800 by 200); ties to the first.
ChartAxis TightAxis(double lo, double hi, std::initializer_list<int> targets) {
  ChartAxis best;
  bool first = true;
  for (int t : targets) {
    ChartAxis a = NiceAxis(lo, hi, t);
    if (first || a.hi - a.lo < best.hi - best.lo) best = std::move(a), first = false;
  }
  return best;
}

}  // namespace

ChartMapping MapChart(const LineChart& c) {
  bool any = false;
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  for (const ChartSeries& s : c.series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      if (!any) x0 = x1 = x, y0 = y1 = y, any = true;
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  ChartMapping m;
  if (!any) {
    m.x = NiceAxis(0, 1, 5);
    m.y = NiceAxis(0, 1, 5);
  } else {
    if (x0 >= 0) x0 = 0;  // steps: the axis starts at step 0
    m.x = TightAxis(x0, x1, {5, 6, 7, 8, 10});
    m.y = TightAxis(y0, y1, {4, 5, 6});
  }
  m.plot_left = c.margin_left;
  m.plot_top = c.margin_top;
  m.plot_width = std::max(1.0, c.width - c.margin_left - c.margin_right);
  m.plot_height = std::max(1.0, c.height - c.margin_top - c.margin_bottom);
  return m;
}

namespace {

std::string F(double v) { return FormatFixed(v, 2); }

bool Finite(const std::pair<double, double>& p) { return std::isfinite(p.first) && std::isfinite(p.second); }

}  // namespace

std::string RenderLineChartSvg(const LineChart& c) {
  const ChartMapping m = MapChart(c);
  const double L = m.plot_left, T = m.plot_top, W = m.plot_width, H = m.plot_height;
  const std::string id = HtmlEscape(c.id);
  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + id + "\" class=\"chart\" viewBox=\"0 0 " + F(c.width) +
       " " + F(c.height) + "\" width=\"" + F(c.width) + "\" height=\"" + F(c.height) +
       "\" role=\"img\" aria-labelledby=\"" + id + "-title\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<title id=\"" + id + "-title\">" + HtmlEscape(c.title) + "</title>\n";
  s += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + F(c.width) + "\" height=\"" + F(c.height) +
       "\" fill=\"#ffffff\"/>\n";
  s += "<text class=\"chart-title\" x=\"" + F(L + W / 2) + "\" y=\"" + F(T - 12) +
       "\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" + HtmlEscape(c.title) + "</text>\n";
  // Grid and ticks.
  s += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double v : m.y.ticks)
    s += "<line x1=\"" + F(L) + "\" y1=\"" + F(m.Y(v)) + "\" x2=\"" + F(L + W) + "\" y2=\"" + F(m.Y(v)) + "\"/>\n";
  for (double v : m.x.ticks)
    s += "<line x1=\"" + F(m.X(v)) + "\" y1=\"" + F(T) + "\" x2=\"" + F(m.X(v)) + "\" y2=\"" + F(T + H) + "\"/>\n";
  s += "</g>\n";
  s += "<g class=\"axis x-axis\">\n";
  s += "<line x1=\"" + F(L) + "\" y1=\"" + F(T + H) + "\" x2=\"" + F(L + W) + "\" y2=\"" + F(T + H) +
       "\" stroke=\"#333333\"/>\n";
  for (double v : m.x.ticks) {
    s += "<line x1=\"" + F(m.X(v)) + "\" y1=\"" + F(T + H) + "\" x2=\"" + F(m.X(v)) + "\" y2=\"" + F(T + H + 5) +
         "\" stroke=\"#333333\"/>\n";
    s += "<text class=\"tick\" x=\"" + F(m.X(v)) + "\" y=\"" + F(T + H + 18) + "\" text-anchor=\"middle\">" +
         FormatFixed(v, m.x.decimals) + "</text>\n";
  }
  s += "<text class=\"axis-label\" x=\"" + F(L + W / 2) + "\" y=\"" + F(T + H + 40) + "\" text-anchor=\"middle\">" +
       HtmlEscape(c.x_label) + "</text>\n";
  s += "</g>\n";
  s += "<g class=\"axis y-axis\">\n";
  s += "<line x1=\"" + F(L) + "\" y1=\"" + F(T) + "\" x2=\"" + F(L) + "\" y2=\"" + F(T + H) +
       "\" stroke=\"#333333\"/>\n";
  for (double v : m.y.ticks) {
    s += "<line x1=\"" + F(L - 5) + "\" y1=\"" + F(m.Y(v)) + "\" x2=\"" + F(L) + "\" y2=\"" + F(m.Y(v)) +
         "\" stroke=\"#333333\"/>\n";
    s += "<text class=\"tick\" x=\"" + F(L - 8) + "\" y=\"" + F(m.Y(v) + 4) + "\" text-anchor=\"end\">" +
         FormatFixed(v, m.y.decimals) + "</text>\n";
  }
  const double ylx = 16, yly = T + H / 2;
  s += "<text class=\"axis-label\" x=\"" + F(ylx) + "\" y=\"" + F(yly) + "\" text-anchor=\"middle\" transform=\"rotate(-90 " +
       F(ylx) + " " + F(yly) + ")\">" + HtmlEscape(c.y_label) + "</text>\n";
  s += "</g>\n";
  // The series.
  bool any = false;
  for (const ChartSeries& cs : c.series) {
    std::string pts;
    int n = 0;
    for (const auto& p : cs.points) {
      if (!Finite(p)) continue;
      pts += (n++ ? " " : "") + F(m.X(p.first)) + "," + F(m.Y(p.second));
    }
    if (n == 0) continue;
    any = true;
    const std::string cls = HtmlEscape(cs.css_class), color = HtmlEscape(cs.color);
    s += "<polyline class=\"series " + cls + "\" fill=\"none\" stroke=\"" + color +
         "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"" + pts + "\"/>\n";
    if (cs.markers || n == 1) {
      s += "<g class=\"markers " + cls + "\" fill=\"" + color + "\">\n";
      for (const auto& p : cs.points)
        if (Finite(p))
          s += "<circle cx=\"" + F(m.X(p.first)) + "\" cy=\"" + F(m.Y(p.second)) + "\" r=\"3\"/>\n";
      s += "</g>\n";
    }
  }
  if (!any)
    s += "<text class=\"no-data\" x=\"" + F(L + W / 2) + "\" y=\"" + F(T + H / 2) +
         "\" text-anchor=\"middle\" fill=\"#777777\">no data</text>\n";
  // Legend, top right inside the plot.
  if (!c.series.empty()) {
    const double lw = 150, lh = 8 + 18.0 * (double)c.series.size();
    const double lx = L + W - lw - 10, ly = T + 10;
    s += "<g class=\"legend\">\n";
    s += "<rect x=\"" + F(lx) + "\" y=\"" + F(ly) + "\" width=\"" + F(lw) + "\" height=\"" + F(lh) +
         "\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\"/>\n";
    for (size_t i = 0; i < c.series.size(); ++i) {
      const double y = ly + 16 + 18.0 * (double)i;
      const std::string color = HtmlEscape(c.series[i].color);
      s += "<line x1=\"" + F(lx + 8) + "\" y1=\"" + F(y - 4) + "\" x2=\"" + F(lx + 32) + "\" y2=\"" + F(y - 4) +
           "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
      s += "<text x=\"" + F(lx + 40) + "\" y=\"" + F(y) + "\">" + HtmlEscape(c.series[i].name) + "</text>\n";
    }
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace modelc
