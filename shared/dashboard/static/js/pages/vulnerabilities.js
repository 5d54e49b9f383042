// #/vulnerabilities?q=&severity=&fixable= — every vulnerability found in the recorded images, searchable
// by id, alias or summary, filterable by severity and fixability, paged with "More".

import { api } from "../api.js";
import { h, routeHref, routeLink } from "../dom.js";
import { stackedBar } from "../charts.js";
import { SEVERITIES, rating, severityBadge } from "../format.js";
import { heading, pageSize, pager, severityFilter } from "../ui.js";

function searchForm(q, levels, fixable) {
  const input = h("input", { type: "search", id: "vuln-query", name: "q", placeholder: "CVE-2024-…, GHSA-…, or words of the summary", props: { value: q }, "aria-label": "Search vulnerabilities" });
  let chosen = levels;
  let onlyFixable = fixable;
  const go = () => {
    window.location.hash = routeHref("vulnerabilities", {
      q: input.value.trim(),
      severity: chosen.size === SEVERITIES.length ? "" : [...chosen].join(","),
      fixable: onlyFixable ? "true" : "",
    });
  };
  const filter = severityFilter(levels, fixable, (picked, fix) => { chosen = picked; onlyFixable = fix; go(); }, "vulns");
  const form = h("form", { id: "vuln-search", class: "card" },
    h("div", { class: "inline-fields" }, input, h("button", { type: "submit", class: "primary" }, "Search")), filter);
  form.addEventListener("submit", (event) => { event.preventDefault(); go(); });
  return form;
}

export async function vulnerabilitiesPage(view, params) {
  const q = params.get("q") || "";
  const severity = params.get("severity") || "";
  const fixable = params.get("fixable") === "true";
  const levels = new Set(severity ? severity.split(",").filter((level) => SEVERITIES.includes(level)) : SEVERITIES);
  view.append(heading("Vulnerabilities", "Every advisory that matches a package of a recorded image."), searchForm(q, levels, fixable));

  const tally = Object.fromEntries(SEVERITIES.map((level) => [level, 0]));
  const chart = h("div", { class: "tally", id: "vuln-tally" });
  const tbody = h("tbody");
  const card = h("section", { class: "card" }, chart,
    h("table", { class: "data", id: "vulnerabilities-table" },
      h("thead", {}, h("tr", {}, ["Severity", "Vulnerability", "Summary", "Fix", "Images", "Repositories", "Packages"].map((t) => h("th", { scope: "col" }, t)))),
      tbody));
  view.append(card);
  let shown = 0;

  await pager(card, async (continuation) => {
    const page = await api("vulnerabilities", {
      params: { q, severity: levels.size === SEVERITIES.length ? undefined : [...levels].join(","), fixable: fixable ? "true" : undefined, limit: pageSize(params, 50), continuation },
    });
    for (const item of page.vulnerabilities || []) {
      const level = rating(item.severity);
      tally[SEVERITIES.includes(level) ? level : "unknown"] += 1;
      shown += 1;
      tbody.append(h("tr", { "data-id": item.id },
        h("td", {}, severityBadge(item.severity)),
        h("td", {}, routeLink("vulnerability", { id: item.id }, h("strong", {}, item.id)),
          (item.aliases || []).length ? h("div", { class: "small muted" }, item.aliases.join(", ")) : null),
        h("td", { class: "summary" }, item.summary || ""),
        h("td", {}, item.fixable ? h("span", { class: "fixed" }, "fix available") : h("span", { class: "muted" }, "no fix")),
        h("td", { class: "num" }, String(item.images ?? "—")),
        h("td", { class: "num" }, String(item.repositories ?? "—")),
        h("td", {}, (item.packages || []).slice(0, 6).map((name) => h("span", { class: "tag pkg-name" }, String(name))),
          (item.packages || []).length > 6 ? h("span", { class: "muted small" }, ` +${item.packages.length - 6}`) : null)));
    }
    chart.replaceChildren(h("span", { class: "small muted" }, `${shown} shown`), stackedBar(tally, { width: 320, height: 14 }),
      ...SEVERITIES.filter((level) => tally[level]).map((level) => h("span", { class: `small count-${level}` }, `${tally[level]} ${level}`)));
    if (!shown) tbody.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No vulnerability matches.")));
    return page.continuation || null;
  }, "The vulnerability search");
}
