// How values read on the page: times, sizes, digests, severities and statuses.

import { h } from "./dom.js";

export const SEVERITIES = ["critical", "high", "medium", "low", "unknown"];

/** A muted dash for a value that is not known. */
export function dash() {
  return h("span", { class: "muted" }, "—");
}

/** `2026-01-02 03:04` in the browser's time zone (the full ISO time as the tooltip), or "—". */
export function when(iso) {
  if (!iso) return dash();
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, String(iso));
  const pad = (n) => String(n).padStart(2, "0");
  const text = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return h("time", { datetime: date.toISOString(), title: `${date.toISOString()} (${ago(date)})` }, text);
}

/** "3 minutes ago", roughly. */
export function ago(date) {
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  if (seconds < 60) return "just now";
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (seconds >= size) {
      const count = Math.floor(seconds / size);
      return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

/** Bytes as B, KiB, MiB or GiB. */
export function bytes(value) {
  const number = Number(value);
  if (!Number.isFinite(number)) return "—";
  const units = ["B", "KiB", "MiB", "GiB"];
  let size = number;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? size : size.toFixed(1)} ${units[unit]}`;
}

/** `sha256:0123456789ab` (the full digest as the tooltip). */
export function shortDigest(digest) {
  const text = String(digest ?? "");
  const [algorithm, hex] = text.includes(":") ? text.split(":", 2) : ["", text];
  const short = hex.length > 12 ? `${algorithm ? `${algorithm}:` : ""}${hex.slice(0, 12)}` : text;
  return h("span", { class: "mono digest", title: text }, short);
}

/** The rating of a severity as the API gives it: a word, or {rating, score, ...}. */
export function rating(severity) {
  if (severity && typeof severity === "object") return String(severity.rating || "unknown").toLowerCase();
  return String(severity || "unknown").toLowerCase();
}

/** A coloured severity badge, with the CVSS score when there is one. */
export function severityBadge(severity) {
  const level = rating(severity);
  const known = [...SEVERITIES, "none"].includes(level) ? level : "unknown";
  const score = severity && typeof severity === "object" && typeof severity.score === "number" ? ` ${severity.score.toFixed(1)}` : "";
  const title = severity && typeof severity === "object" && severity.origin ? `rated by ${severity.origin}${severity.source ? ` (${severity.source})` : ""}` : null;
  return h("span", { class: `sev sev-${known}`, title }, `${level}${score}`);
}

const STATUS_CLASS = {
  connected: "ok", analyzed: "ok", enabled: "ok",
  pending: "wait", retrying: "wait",
  error: "bad", failed: "bad",
};

/** A status word as a badge (green, amber, red or grey). */
export function statusBadge(status) {
  const word = String(status ?? "unknown");
  return h("span", { class: `status status-${STATUS_CLASS[word] || "other"}` }, word);
}

/** "1 image" / "2 images". */
export function plural(count, word, many = `${word}s`) {
  return `${count} ${count === 1 ? word : many}`;
}

/** Counts by severity from an API object, with every level present (`none` counted as `low`, as the API does). */
export function severityCounts(value) {
  const counts = Object.fromEntries(SEVERITIES.map((level) => [level, 0]));
  if (value && typeof value === "object") {
    for (const level of SEVERITIES) counts[level] = Math.max(0, Number(value[level]) || 0);
    counts.low += Math.max(0, Number(value.none) || 0);
  }
  return counts;
}
