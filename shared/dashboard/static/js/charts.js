// Severity charts as inline SVG, drawn from counts; colours come from app.css (.sev-fill-<level>).

import { h, s } from "./dom.js";
import { SEVERITIES, severityCounts } from "./format.js";

function summary(counts) {
  return SEVERITIES.map((level) => `${counts[level]} ${level}`).join(", ");
}

/**
 * One column per severity, its height the count, the count above it and the level below:
 * an image's findings at a glance. `value` is the API's counts object; `unchecked` how many of the
 * image's ecosystems had no advisories loaded (the caption then never reads as a clean bill).
 */
export function severityColumns(value, { width = 420, height = 190, fixable, unchecked = 0 } = {}) {
  const counts = severityCounts(value);
  const total = SEVERITIES.reduce((sum, level) => sum + counts[level], 0);
  const top = 22;
  const bottom = 26;
  const plot = height - top - bottom;
  const slot = width / SEVERITIES.length;
  const bar = Math.min(56, slot * 0.62);
  const max = Math.max(1, ...SEVERITIES.map((level) => counts[level]));
  const svg = s("svg", {
    class: "chart severity-columns", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-label": `Findings by severity: ${summary(counts)}`,
  });
  svg.append(s("line", { x1: 0, x2: width, y1: top + plot + 0.5, y2: top + plot + 0.5, class: "axis" }));
  SEVERITIES.forEach((level, index) => {
    const count = counts[level];
    const barHeight = count ? Math.max(3, Math.round((count / max) * plot)) : 0;
    const x = index * slot + (slot - bar) / 2;
    const y = top + plot - barHeight;
    const group = s("g", { class: "column", "data-level": level });
    group.append(s("title", {}, `${count} ${level}`));
    if (count) group.append(s("rect", { x, y, width: bar, height: barHeight, rx: 3, class: `sev-fill-${level}` }));
    group.append(s("text", { x: x + bar / 2, y: y - 6, "text-anchor": "middle", class: "count" }, String(count)));
    group.append(s("text", { x: x + bar / 2, y: height - 8, "text-anchor": "middle", class: "label" }, level));
    svg.append(group);
  });
  const fixes = total && Number.isFinite(Number(fixable)) ? `, ${Number(fixable)} with a fix available` : "";
  const gaps = unchecked ? ` (packages of ${unchecked} ecosystem${unchecked === 1 ? "" : "s"} not checked: no advisories loaded)` : "";
  const found = total ? `${total} finding${total === 1 ? "" : "s"}${fixes}` : unchecked ? "No findings" : "No known vulnerabilities";
  return h("figure", { class: "chart-figure" }, svg, h("figcaption", {}, found + gaps));
}

/**
 * A thin horizontal bar split by severity. Its length is the total relative to `scale` (the largest
 * total of the rows it stands beside), so rows compare at a glance; a tooltip gives each count.
 */
export function stackedBar(value, { width = 150, height = 12, scale } = {}) {
  const counts = severityCounts(value);
  const total = SEVERITIES.reduce((sum, level) => sum + counts[level], 0);
  const svg = s("svg", {
    class: "chart stacked-bar", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "img", "aria-label": total ? summary(counts) : "no findings",
  });
  svg.append(s("rect", { x: 0, y: 0, width, height, rx: 2, class: "track" }));
  const full = Math.max(total, Number(scale) || 0, 1);
  let x = 0;
  for (const level of SEVERITIES) {
    if (!counts[level]) continue;
    const part = Math.max(2, (counts[level] / full) * width);
    const segment = s("rect", { x, y: 0, width: part, height, class: `sev-fill-${level}` });
    segment.append(s("title", {}, `${counts[level]} ${level}`));
    svg.append(segment);
    x += part;
  }
  return svg;
}

/** The stacked bar with the counts written beside it ("2 C · 5 H · 1 M"). */
export function severityCell(value, options = {}) {
  const counts = severityCounts(value);
  const parts = [];
  for (const level of SEVERITIES) {
    if (counts[level]) parts.push(h("span", { class: `count-${level}`, title: level }, `${counts[level]} ${level[0].toUpperCase()}`));
  }
  return h("div", { class: "severity-cell" }, stackedBar(value, options),
    h("span", { class: "severity-counts" }, parts.length ? parts : h("span", { class: "muted" }, "none")));
}

/** The largest total of several count objects, for stackedBar's `scale`. */
export function largestTotal(values) {
  let largest = 0;
  for (const value of values) {
    const counts = severityCounts(value);
    largest = Math.max(largest, SEVERITIES.reduce((sum, level) => sum + counts[level], 0));
  }
  return largest;
}
