// The base image of a platform (the image record's `platforms[].base`), its findings split between the base
// and what the image added, and what to do about the base (GET /api/images/recommendations).
//
// Counts leave out findings a VEX statement suppresses, as every count of Lookout does; the split is tallied
// from the findings' `origin`, which the API decides.

import { api } from "../api.js";
import { add, h, put, routeLink } from "../dom.js";
import { SEVERITIES, rating, shortDigest } from "../format.js";
import { errorBox, loading } from "../ui.js";

export const ORIGIN_LABELS = { base: "From the base", image: "Added by this image" };

/** `name@sha256:0123456789ab`: the base as its tag names it and the digest it was (a link when it is in a registry). */
export function baseLabel(base) {
  const label = h("span", { class: "base-name" }, h("span", { class: "mono" }, base.name || base.repository), h("span", { class: "mono" }, "@"), shortDigest(base.digest));
  if (!base.registry) return label;
  return routeLink("image", { registry: base.registry, repository: base.repository, reference: base.digest }, label);
}

function emptyCounts() {
  return { ...Object.fromEntries(SEVERITIES.map((level) => [level, 0])), total: 0, fixable: 0 };
}

function levelOf(finding) {
  const level = rating(finding?.severity);
  if (level === "none") return "low";
  return SEVERITIES.includes(level) ? level : "unknown";
}

/**
 * A platform report's counted findings (those no VEX statement suppresses) by origin, `{base, image}` each
 * `{critical…unknown, total, fixable}`, and how many are suppressed; `split` is null when the report has no base.
 */
export function originTally(report) {
  const findings = Array.isArray(report?.findings) ? report.findings : [];
  const suppressed = findings.filter((finding) => finding.suppressed).length;
  if (!report?.base) return { split: null, suppressed };
  const split = { base: emptyCounts(), image: emptyCounts() };
  for (const finding of findings) {
    if (finding.suppressed) continue;
    const counts = split[finding.origin === "base" ? "base" : "image"];
    counts.total += 1;
    counts[levelOf(finding)] += 1;
    if (finding.fixable) counts.fixable += 1;
  }
  return { split, suppressed };
}

/** A count object as "3" followed by its non-zero levels ("1 critical, 2 unknown"). */
export function countsText(counts) {
  const total = Math.max(0, Number(counts?.total) || 0);
  const levels = SEVERITIES.filter((level) => Number(counts?.[level]) > 0)
    .map((level) => h("span", { class: `count-${level}` }, `${Number(counts[level])} ${level}`));
  return h("span", { class: "counts-text" }, h("strong", {}, String(total)),
    levels.length ? h("span", { class: "small" }, " (", levels.flatMap((part, index) => (index ? [", ", part] : [part])), ")") : null);
}

function splitTable(split) {
  const columns = [...SEVERITIES, "total", "fixable"];
  return h("table", { class: "data compact split-table", id: "origin-table" },
    h("caption", { class: "small muted" }, "Findings of this platform by where they come from (findings suppressed by VEX are not counted)"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Origin"), columns.map((column) => h("th", { scope: "col", class: "num" }, column)))),
    h("tbody", {}, ["base", "image"].map((origin) => h("tr", { "data-origin": origin },
      h("th", { scope: "row" }, ORIGIN_LABELS[origin]),
      columns.map((column) => {
        const value = split[origin][column];
        return h("td", { class: `num${value && SEVERITIES.includes(column) ? ` count-${column}` : ""}` }, String(value));
      })))));
}

/** A notice that the base's tag has moved on: the image should be built again. */
function rebuildNotice(base) {
  return h("div", { class: "rebuild-notice", role: "status", id: "rebuild-notice" },
    h("strong", {}, h("span", { "aria-hidden": "true" }, "⚠ "), "Rebuild needed"),
    h("span", {}, `${base.name || base.repository} now points at `, shortDigest(base.current_digest),
      "; this image was built on ", shortDigest(base.digest), "."));
}

/**
 * The Base image panel of one platform: the base, the layers it accounts for, a rebuild notice when its tag
 * moved, and the findings split by origin once `report` (the platform's report, a promise) is in.
 */
export function baseCard(platform, report) {
  const base = platform.base;
  const card = h("section", { class: "card", id: "base-image", "aria-labelledby": "base-image-title" },
    h("h2", { id: "base-image-title" }, "Base image"));
  if (!base) {
    card.append(h("p", { class: "muted", id: "no-base" }, `No base image detected for ${platform.platform}: no other analyzed image `
      + "or imported public base has this image's first layers."));
    return card;
  }
  const total = (platform.layers || []).length;
  const layers = Math.max(0, Number(base.layers) || 0);
  add(card,
    h("dl", { class: "facts", id: "base-facts" },
      h("dt", {}, "Built on"), h("dd", { id: "base-name" }, baseLabel(base)),
      h("dt", {}, "Kind"), h("dd", {}, base.registry ? "an image Lookout analyzed" : "an imported public base image"),
      h("dt", {}, "Layers"), h("dd", { id: "base-layers" }, layers === 1 ? `the first of ${total} layers` : `the first ${layers} of ${total} layers`)),
    base.current_digest ? rebuildNotice(base) : null);
  const split = h("div", { id: "origin-split" }, loading("Counting the findings by origin"));
  card.append(split);
  report.then((found) => {
    const { split: counts, suppressed } = originTally(found);
    if (!counts) {
      put(split, h("p", { class: "muted" }, "The findings are not split: the report names no base."));
      return;
    }
    put(split,
      h("p", { class: "origin-line" },
        h("span", { "data-origin": "base" }, `${ORIGIN_LABELS.base}: `, countsText(counts.base)), " · ",
        h("span", { "data-origin": "image" }, `${ORIGIN_LABELS.image}: `, countsText(counts.image)),
        suppressed ? h("span", { class: "vex-count" }, ` · ${suppressed} suppressed by VEX (not counted)`) : null),
      splitTable(counts));
  }, (error) => put(split, errorBox(error, "The findings")));
  return card;
}

function alternativeRow(alternative) {
  const cells = [
    h("td", {}, h("span", { class: "mono" }, alternative.name || alternative.tag)),
    h("td", {}, shortDigest(alternative.digest)),
    h("td", {}, alternative.newer === true ? "newer" : alternative.newer === false ? "older" : h("span", { class: "muted" }, "not known")),
  ];
  if (alternative.note || !alternative.vulnerabilities) {
    cells.push(h("td", { colspan: 3, class: "no-data" }, alternative.note || "no vulnerability data is known for this base"));
  } else {
    cells.push(
      h("td", {}, countsText(alternative.vulnerabilities)),
      h("td", { class: "remove" }, countsText(alternative.remove)),
      h("td", { class: "add" }, countsText(alternative.add)));
  }
  return h("tr", { "data-tag": alternative.tag, "data-digest": alternative.digest }, cells);
}

/** The Recommendations panel of one platform: rebuild, the base's own figures, and the other tags of the base. */
export function recommendationsCard(image, platform) {
  const body = h("div", { id: "recommendations-body" }, loading("Loading the recommendations"));
  const card = h("section", { class: "card", id: "recommendations", "aria-labelledby": "recommendations-title" },
    h("h2", { id: "recommendations-title" }, "Recommendations"), body);
  (async () => {
    let document;
    try {
      document = await api("images/recommendations", { params: { registry: image.registry, repository: image.repository, reference: image.digest } });
    } catch (error) {
      body.replaceChildren(errorBox(error, "The recommendations"));
      return;
    }
    const platforms = Array.isArray(document?.platforms) ? document.platforms : [];
    const mine = platforms.find((p) => p.digest === platform.digest) || platforms.find((p) => p.platform === platform.platform);
    if (!mine || !mine.base) {
      put(body, h("p", { class: "muted", id: "no-recommendations" }, "No base image detected, so there is no other base to recommend."));
      return;
    }
    const current = mine.current || {};
    const alternatives = Array.isArray(mine.alternatives) ? mine.alternatives : [];
    put(body,
      mine.rebuild_needed && mine.base.current_digest
        ? h("p", { class: "recommend-rebuild", id: "recommend-rebuild", title: mine.rebuild || null },
          h("strong", {}, "Rebuild"), " on ", h("span", { class: "mono" }, mine.base.name), ": the tag now points at ",
          shortDigest(mine.base.current_digest), ", which the alternatives below include.")
        : null,
      h("p", { id: "current-base" }, "Vulnerabilities of the current base ", h("span", { class: "mono" }, mine.base.name), ": ",
        current.vulnerabilities
          ? h("span", {}, countsText(current.vulnerabilities), h("span", { class: "small muted" }, ` (source: ${current.source || "the base's report"})`))
          : h("span", { class: "no-data" }, current.note || "no vulnerability data is known for this base")),
      alternatives.length
        ? h("table", { class: "data", id: "alternatives-table" },
          h("caption", { class: "small muted" }, `Other tags of ${mine.base.repository} Lookout knows, and what moving to each would change in the base's findings`),
          h("thead", {}, h("tr", {}, ["Tag", "Digest", "Built", "Its vulnerabilities", "Would remove", "Would add"].map((label) => h("th", { scope: "col" }, label)))),
          h("tbody", {}, alternatives.map(alternativeRow)))
        : h("p", { class: "muted", id: "no-alternatives" }, `Lookout knows no other tag of ${mine.base.repository}.`));
  })();
  return card;
}
