// #/image?registry=R&repository=P&reference=TAG_OR_DIGEST[&platform=os/arch] — one image: its
// findings per severity, its policy results, its platforms, the base image each was built on with what to do
// about it, SBOM downloads, vulnerabilities (filterable; those a VEX statement suppresses shown, marked and
// not counted) and layers with the packages each introduced.

import { api } from "../api.js";
import { add, facts, h, put, routeHref, routeLink, table } from "../dom.js";
import { severityColumns } from "../charts.js";
import { SEVERITIES, bytes, severityBadge, shortDigest, statusBadge, when } from "../format.js";
import { errorBox, loading, severityFilter, statusLine } from "../ui.js";
import { ORIGIN_LABELS, baseCard, originTally, recommendationsCard } from "../panels/bases.js";
import { policiesCard, policyCounts } from "../panels/policies.js";

const SBOM_FORMATS = [
  { format: "json", label: "Lookout JSON", extension: "json", perPlatform: false },
  { format: "cyclonedx", label: "CycloneDX 1.6", extension: "cdx.json", perPlatform: true },
  { format: "spdx", label: "SPDX 2.3", extension: "spdx.json", perPlatform: true },
];

function fileName(image, platform, extension) {
  const base = `${image.repository}-${(image.digest || "").replace(/^sha256:/, "").slice(0, 12)}${platform ? `-${platform}` : ""}`;
  return `${base.replace(/[^A-Za-z0-9._-]+/g, "_")}.${extension}`;
}

/** Fetch the SBOM with the function key and hand it to the browser as a file download. */
async function download(image, item, platform, status) {
  status.busy(`Preparing the ${item.label} SBOM…`);
  try {
    const response = await api("images/sbom", {
      raw: true, accept: "application/json",
      params: { registry: image.registry, repository: image.repository, reference: image.digest, format: item.format, platform: item.perPlatform ? platform : undefined },
    });
    const blob = new Blob([await response.arrayBuffer()], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const name = fileName(image, item.perPlatform ? platform : "", item.extension);
    const anchor = h("a", { download: name, class: "hidden-download" });
    anchor.href = url;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    status.ok(`Downloaded ${name}.`);
  } catch (error) {
    status.fail(error);
  }
}

function sbomCard(image, platform) {
  const status = statusLine({ id: "sbom-status" });
  const buttons = SBOM_FORMATS.map((item) => h("button", {
    type: "button", class: "download", "data-format": item.format,
    title: item.perPlatform ? `${item.label} for ${platform}` : `${item.label}, every platform`,
    on: { click: () => download(image, item, platform, status) },
  }, item.label));
  return h("section", { class: "card", id: "sbom" }, h("h2", {}, "SBOM"),
    h("p", { class: "muted" }, `CycloneDX and SPDX describe one platform (${platform}); Lookout's JSON has them all.`),
    h("div", { class: "actions" }, buttons), status.element);
}

function platformFacts(platform) {
  const labels = Object.entries(platform.labels || {});
  const counts = Object.entries(platform.package_counts || {});
  return h("section", { class: "card", id: "platform" },
    h("h2", {}, `Platform ${platform.platform}`),
    h("div", { class: "columns" },
      facts([
        ["Manifest", h("span", { class: "mono small" }, platform.digest)],
        ["Distribution", platform.distro || null],
        ["Created", when(platform.created)],
        ["User", platform.user || h("span", { class: "muted" }, "root (not set)")],
        ["Layers", String((platform.layers || []).length)],
        ["Packages", counts.length ? counts.map(([type, count]) => h("span", { class: "tag" }, `${count} ${type}`)) : "none found"],
        ["Problems", platform.problems ? String(platform.problems) : null],
      ]),
      h("div", {}, h("h3", {}, "Labels"),
        labels.length
          ? table(["Label", "Value"], labels.map(([key, value]) => [h("span", { class: "mono" }, key), h("span", { class: "label-value" }, value)]), { class: "data compact", id: "labels-table" })
          : h("p", { class: "muted" }, "No labels."))));
}

/** The marks of a finding a VEX statement suppresses: the badge, the justification and the impact statement. */
function vexNote(suppressed) {
  const status = String(suppressed.status || "suppressed");
  return h("div", { class: "vex-note", title: [suppressed.source, suppressed.scope && `imported for ${suppressed.scope}`].filter(Boolean).join("; ") },
    h("span", { class: "vex-badge" }, `VEX: ${status}`),
    suppressed.justification ? h("div", { class: "small vex-justification" }, suppressed.justification.replaceAll("_", " ")) : null,
    suppressed.statement ? h("div", { class: "small muted vex-statement" }, suppressed.statement) : null,
    h("div", { class: "small muted" }, "not counted"));
}

function originCell(origin) {
  if (origin !== "base" && origin !== "image") return h("span", { class: "muted" }, "—");
  return h("span", { class: `origin origin-${origin}`, "data-origin": origin }, origin === "base" ? "base" : "this image");
}

const FINDING_COLUMNS = ["Severity", "Vulnerability", "Package", "Installed", "Fixed in", "Origin", "Summary", "Where"];
const WIDE_COLUMNS = new Set(["Vulnerability", "Summary", "Where"]);

/** The columns of the findings table: Origin only when the platform has a detected base. */
function findingColumns(withOrigin) {
  return FINDING_COLUMNS.filter((label) => withOrigin || label !== "Origin");
}

/**
 * One finding as a table row. Each cell carries its column's name (`data-label`) and explicit ARIA roles keep the
 * table's semantics when a narrow screen lays the rows out as blocks.
 */
function findingRow(finding, withOrigin) {
  const where = (finding.locations || []).map((location) => h("div", { class: "mono small path" }, location.path));
  const cells = [
    severityBadge(finding.severity),
    h("div", {}, routeLink("vulnerability", { id: finding.id }, h("strong", {}, finding.id)),
      (finding.aliases || []).length ? h("div", { class: "small muted" }, finding.aliases.join(", ")) : null,
      finding.suppressed ? vexNote(finding.suppressed) : null),
    h("div", {}, h("span", { class: "pkg-name" }, finding.name), h("div", { class: "small muted mono" }, finding.ecosystem || "")),
    h("span", { class: "mono" }, finding.installed_version),
    (finding.fixed_versions || []).length ? h("span", { class: "mono fixed" }, finding.fixed_versions.join(", ")) : h("span", { class: "muted" }, "no fix"),
  ];
  if (withOrigin) cells.push(originCell(finding.origin));
  cells.push(h("div", { class: "summary" }, finding.summary || ""), h("div", {}, where));
  const labels = findingColumns(withOrigin);
  return h("tr", { role: "row", "data-id": finding.id, "data-origin": finding.origin || null, class: finding.suppressed ? "suppressed" : null,
    "data-suppressed": finding.suppressed ? "true" : null },
  cells.map((cell, index) => h("td", { role: "cell", "data-label": labels[index], class: WIDE_COLUMNS.has(labels[index]) ? "wide" : null }, cell)));
}

/** Radio buttons: every finding, only those from the base, or only those the image added. */
function originFilter(onChange) {
  const choices = [["all", "all origins"], ["base", ORIGIN_LABELS.base.toLowerCase()], ["image", ORIGIN_LABELS.image.toLowerCase()]];
  const fieldset = h("fieldset", { class: "filters", id: "origin-filter" }, h("legend", {}, "Origin"),
    choices.map(([value, label]) => h("label", { class: "chip" },
      h("input", { type: "radio", name: "origin", id: `origin-${value}`, value, props: { checked: value === "all" } }), label)));
  fieldset.addEventListener("change", () => onChange(fieldset.querySelector("input:checked")?.value || "all"));
  return fieldset;
}

function ofPlatform(report, platform) {
  const platforms = report?.platforms || [];
  return platforms.find((p) => p.digest === platform.digest) || platforms[0] || null;
}

/** "2 counted (1 critical, 1 unknown, 2 fixable) · 1 suppressed by VEX (not counted)" for a platform report. */
function tallyLine(report) {
  const counts = report?.counts || {};
  const levels = SEVERITIES.filter((level) => Number(counts[level]) > 0).map((level) => `${counts[level]} ${level}`);
  if (Number(counts.fixable) > 0) levels.push(`${counts.fixable} fixable`);
  const suppressed = Number(report?.suppressed) || 0;
  return h("p", { class: "findings-tally", id: "findings-tally" },
    h("strong", {}, `${Number(counts.total) || 0} counted`), levels.length ? ` (${levels.join(", ")})` : "",
    suppressed ? h("span", { class: "vex-count" }, ` · ${suppressed} suppressed by VEX (not counted, shown below)`) : null);
}

/**
 * The findings of one platform, filtered by severity and fixability (by the API) and by origin (here, from the
 * API's `origin` of each finding). `first` is the unfiltered report the page already asked for.
 */
function vulnerabilitiesCard(image, platform, first) {
  const results = h("div", { id: "findings" });
  const tally = h("div", { id: "findings-head" });
  const withOrigin = Boolean(platform.base);
  let levels = new Set(SEVERITIES);
  let fixable = false;
  let origin = "all";
  let latest = 0;
  let shown = null;
  function draw() {
    if (!shown) return;
    const findings = (shown.findings || []).filter((finding) => origin === "all" || finding.origin === origin);
    const headers = findingColumns(withOrigin);
    put(results,
      ...(shown.warnings || []).map((warning) => h("p", { class: "coverage-warning" }, `Not checked: ${warning}.`)),
      findings.length
        ? h("table", { class: "data stack-narrow", id: "findings-table", role: "table" },
          h("thead", { role: "rowgroup" }, h("tr", { role: "row" }, headers.map((label) => h("th", { scope: "col", role: "columnheader" }, label)))),
          h("tbody", { role: "rowgroup" }, findings.map((finding) => findingRow(finding, withOrigin))))
        : h("p", { class: "empty", id: "no-findings" }, "No finding matches."),
      shown.snapshot ? h("p", { class: "small muted" }, `Advisories as of snapshot ${shown.snapshot}.`) : null);
  }
  async function load(initial) {
    const mine = ++latest;
    results.replaceChildren(loading("Loading the findings"));
    if (!levels.size) {
      shown = null;
      results.replaceChildren(h("p", { class: "empty" }, "Pick at least one severity."));
      return;
    }
    try {
      const report = initial || await api("images/vulnerabilities", {
        params: {
          registry: image.registry, repository: image.repository, reference: image.digest,
          severity: levels.size === SEVERITIES.length ? undefined : [...levels].join(","),
          fixable: fixable ? "true" : undefined,
        },
      });
      if (mine !== latest) return;
      shown = ofPlatform(await report, platform);
      if (initial) put(tally, tallyLine(shown));
      draw();
    } catch (error) {
      if (mine === latest) results.replaceChildren(errorBox(error, "The findings"));
    }
  }
  const filter = severityFilter(levels, fixable, (chosen, onlyFixable) => {
    levels = chosen;
    fixable = onlyFixable;
    load();
  }, "vuln");
  load(first);
  return h("section", { class: "card", id: "vulnerabilities", "aria-labelledby": "vulnerabilities-title" },
    h("h2", { id: "vulnerabilities-title" }, "Vulnerabilities"), tally, filter,
    withOrigin ? originFilter((chosen) => { origin = chosen; draw(); }) : null, results);
}

function layersCard(image, platform) {
  const body = h("div", { id: "layers" }, loading("Loading the SBOM"));
  (async () => {
    let packages = [];
    try {
      const sbom = await api("images/sbom", { params: { registry: image.registry, repository: image.repository, reference: image.digest, format: "json" } });
      const mine = (sbom.platforms || []).find((p) => p.digest === platform.digest || p.platform === platform.platform);
      packages = mine ? mine.packages || [] : [];
    } catch (error) {
      body.replaceChildren(errorBox(error, "The packages"));
      return;
    }
    const byLayer = new Map();
    for (const item of packages) {
      const list = byLayer.get(item.layer) || [];
      list.push(item);
      byLayer.set(item.layer, list);
    }
    const layers = platform.layers || [];
    body.replaceChildren(...layers.map((layer, index) => {
      const introduced = (byLayer.get(layer.digest) || []).slice().sort((a, b) => `${a.type}${a.name}`.localeCompare(`${b.type}${b.name}`));
      const fromBase = platform.base && index < Number(platform.base.layers);
      const summary = h("summary", {},
        h("span", { class: "layer-index" }, `#${index + 1}`), " ", shortDigest(layer.digest), " ",
        h("span", { class: "muted" }, bytes(layer.size)), " · ",
        h("strong", {}, `${introduced.length} package${introduced.length === 1 ? "" : "s"}`),
        fromBase ? h("span", { class: "tag base-tag", title: `from the base image ${platform.base.name}` }, "base") : null);
      const details = h("details", { class: "layer", "data-layer": layer.digest, open: introduced.length > 0 && introduced.length <= 40 }, summary);
      if (introduced.length) {
        details.append(table(["Package", "Version", "Type", "License", "Path"], introduced.map((item) => [
          h("span", { class: "pkg-name" }, item.name),
          h("span", { class: "mono" }, item.version),
          item.type,
          item.meta && item.meta.license ? h("span", { class: "license" }, item.meta.license) : h("span", { class: "muted" }, "—"),
          h("span", { class: "mono small path" }, item.path),
        ]), { class: "data compact" }));
      } else {
        details.append(h("p", { class: "muted small" }, "No package introduced in this layer."));
      }
      return details;
    }));
    const orphans = packages.filter((item) => !layers.some((layer) => layer.digest === item.layer));
    if (orphans.length) body.append(h("p", { class: "muted" }, `${orphans.length} packages from layers not listed above.`));
  })();
  return h("section", { class: "card", id: "layers-card" }, h("h2", {}, "Layers and the packages each introduced"), body);
}

/** "N suppressed by VEX (not counted)" for the whole image: each suppressed flaw of a package version once. */
function suppressedNote(report) {
  const seen = new Set();
  for (const platform of report?.platforms || []) {
    for (const finding of platform.findings || []) {
      if (finding.suppressed) seen.add(`${finding.id}\u0000${finding.name}\u0000${finding.installed_version}`);
    }
  }
  return seen.size ? h("p", { class: "vex-count", id: "suppressed-note" }, `${seen.size} suppressed by VEX (not counted)`) : null;
}

export async function imagePage(view, params) {
  const registry = params.get("registry") || "";
  const repository = params.get("repository") || "";
  const reference = params.get("reference") || "";
  const slot = h("div", {}, loading("Loading the image"));
  view.append(slot);
  let image;
  try {
    image = await api("images", { params: { registry, repository, reference } });
  } catch (error) {
    slot.replaceChildren(h("header", { class: "page-head" }, h("h1", { class: "mono" }, `${repository}:${reference}`)), errorBox(error, "The image"));
    return;
  }
  const platforms = image.platforms || [];
  const wanted = params.get("platform");
  const platform = platforms.find((p) => p.platform === wanted) || platforms.find((p) => p.platform === "linux/amd64") || platforms[0];
  const tabs = platforms.length > 1 ? h("nav", { class: "tabs", "aria-label": "Platforms" }, platforms.map((p) => h("a", {
    href: routeHref("image", { registry, repository, reference, platform: p.platform }),
    "aria-current": p === platform ? "page" : null,
  }, p.platform))) : null;

  const summary = h("section", { class: "card summary-card" },
    h("div", { class: "columns" },
      facts([
        ["Tags", (image.tags || []).length ? image.tags.map((tag) => h("span", { class: "tag" }, tag)) : h("span", { class: "muted" }, "untagged")],
        ["Digest", h("span", { class: "mono small", id: "image-digest" }, image.digest)],
        ["Status", h("span", { id: "image-status" }, statusBadge(image.status))],
        ["Error", image.error ? h("span", { class: "error-text", id: "image-error" }, `${image.error.code}: ${image.error.message}`) : null],
        ["Platforms", platforms.map((p) => p.platform).join(", ") || null],
        ["Size", image.size ? bytes(image.size) : null],
        ["Received", when(image.received)],
        ["Analyzed", image.analyzed ? h("span", {}, when(image.analyzed), image.duration_ms ? h("span", { class: "muted" }, ` in ${(image.duration_ms / 1000).toFixed(1)} s`) : null) : null],
        ["Policies", image.status === "analyzed" ? policyCounts(image.policy, { id: "summary-policies" }) : null],
      ]),
      image.status === "analyzed"
        ? h("div", { class: "chart-box", id: "severity-chart" }, severityColumns(image.vulnerabilities, { fixable: image.fixable ?? 0, unchecked: (image.warnings || []).length }))
        : null));

  put(slot,
    h("header", { class: "page-head" },
      h("p", { class: "crumbs" }, h("span", { class: "mono" }, image.registry), " / ",
        routeLink("repository", { registry: image.registry, repository: image.repository }, h("span", { class: "mono" }, image.repository)), " /"),
      h("h1", { class: "mono" }, `${image.repository}${reference.startsWith("sha256:") ? "@" : ":"}${reference.startsWith("sha256:") ? reference.slice(0, 19) : reference}`)),
    summary);
  if (image.status !== "analyzed" || !platform) {
    slot.append(h("p", { class: "card muted" }, image.status === "analyzed" ? "The image has no platform image." : "Findings, packages and SBOMs appear once the image is analyzed."));
    return;
  }
  const report = api("images/vulnerabilities", { params: { registry: image.registry, repository: image.repository, reference: image.digest } });
  report.then((found) => {
    const note = suppressedNote(found);
    if (note) summary.querySelector("#severity-chart")?.append(note);
  }, () => {});
  const platformReport = report.then((found) => ofPlatform(found, platform));
  platformReport.catch(() => {});
  add(slot, policiesCard(image), tabs, platformFacts(platform), baseCard(platform, platformReport), recommendationsCard(image, platform),
    sbomCard(image, platform.platform), vulnerabilitiesCard(image, platform, report), layersCard(image, platform));
}
