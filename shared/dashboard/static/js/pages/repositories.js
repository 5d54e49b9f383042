// #/repositories?integration=ID — the registry's repositories with their activation switches, and for
// each the number of images, the last push and the latest image's findings.
//
// The switches come from GET /api/integrations/{id}/repositories (the registry's catalog); the figures
// from GET /api/repositories?integration=ID, paged with "More". Without the latter the switches still work.

import { api } from "../api.js";
import { h, put, routeLink } from "../dom.js";
import { largestTotal, severityCell } from "../charts.js";
import { dash, shortDigest, statusBadge, when } from "../format.js";
import { errorBox, heading, loading, pageSize, pager, statusLine } from "../ui.js";

function rowId(name) {
  return `repo-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export async function repositoriesPage(view, params) {
  const id = params.get("integration") || "";
  const head = h("div", {}, heading("Repositories", "Loading…"));
  const slot = h("section", { class: "card" }, loading("Listing the registry's repositories"));
  const statsNote = h("div", { id: "stats-note" });
  view.append(head, statsNote, slot);

  let activation;
  try {
    activation = await api(`integrations/${encodeURIComponent(id)}/repositories`);
  } catch (error) {
    head.replaceChildren(heading("Repositories"));
    slot.replaceChildren(errorBox(error, "The repositories"));
    return;
  }
  const registry = activation.registry;
  head.replaceChildren(h("header", { class: "page-head" },
    h("p", { class: "crumbs" }, h("a", { href: "#/integrations" }, "Integrations"), " / ",
      routeLink("integration", { id }, registry), " /"),
    h("h1", {}, "Repositories"),
    h("p", { class: "subtitle" }, `Switch a repository on to analyze its pushes; switching it on analyzes its latest image at once.`)));

  const rows = new Map();
  const stats = new Map();
  for (const row of activation.repositories || []) rows.set(row.repository, { ...row });

  const filter = h("input", { type: "search", id: "repo-filter", placeholder: "Filter by name", "aria-label": "Filter repositories" });
  const bulk = statusLine({ id: "bulk-status" });
  const all = h("button", { type: "button", id: "activate-all" }, "Activate all");
  const tbody = h("tbody");
  const tableElement = h("table", { class: "data", id: "repositories-table" },
    h("thead", {}, h("tr", {}, ["Analyze", "Repository", "Images", "Last push", "Latest image", "Findings of the latest image"].map((t) => h("th", { scope: "col" }, t)))),
    tbody);

  function draw() {
    const needle = filter.value.trim().toLowerCase();
    const names = [...new Set([...rows.keys(), ...stats.keys()])].sort();
    const visible = names.filter((name) => !needle || name.toLowerCase().includes(needle));
    const scale = largestTotal(visible.map((name) => stats.get(name)?.latest?.vulnerabilities));
    tbody.replaceChildren(...visible.map((name) => repositoryRow(name, rows.get(name), stats.get(name), scale)));
    if (!visible.length) tbody.append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, names.length ? "No repository matches." : "The registry lists no repositories.")));
  }

  function repositoryRow(name, row, stat, scale) {
    const enabled = row ? Boolean(row.enabled) : Boolean(stat?.enabled);
    const note = h("span", { class: "row-note small" });
    const toggle = h("input", {
      type: "checkbox", role: "switch", class: "switch", "data-repository": name,
      "aria-label": `Analyze ${name}`, props: { checked: enabled },
    });
    toggle.addEventListener("change", async () => {
      const wanted = toggle.checked;
      toggle.disabled = true;
      note.className = "row-note small busy";
      note.textContent = wanted ? "activating…" : "deactivating…";
      try {
        const result = await api(`integrations/${encodeURIComponent(id)}/repositories/${encodeURIComponent(name)}`, {
          method: "PUT", body: { enabled: wanted },
        });
        const done = (result.repositories || [])[0] || {};
        rows.set(name, { ...(rows.get(name) || { repository: name, in_registry: true }), enabled: wanted });
        note.className = "row-note small ok";
        note.textContent = wanted
          ? (done.backfill_queued ? "activated: analyzing its latest image" : `activated${result.note ? ` (${result.note})` : ""}`)
          : "deactivated: results are kept";
        if (done.backfill_queued) for (const delay of [3000, 10000]) setTimeout(() => refreshFigures(name), delay);
      } catch (error) {
        toggle.checked = !wanted;
        note.className = "row-note small bad";
        note.textContent = String(error.message);
      }
      toggle.disabled = false;
    });
    const latest = stat?.latest;
    const latestCell = latest
      ? h("span", {}, routeLink("image", { registry, repository: name, reference: latest.digest },
        (latest.tags && latest.tags.length) ? latest.tags.slice(0, 3).map((tag) => h("span", { class: "tag" }, tag)) : shortDigest(latest.digest)),
      " ", statusBadge(latest.status))
      : (stat ? h("span", { class: "muted" }, "none yet") : dash());
    const findings = latest ? h("div", {}, severityCell(latest.vulnerabilities, { scale }),
      latest.fixable ? h("span", { class: "small muted" }, `${latest.fixable} fixable`) : null) : dash();
    return h("tr", { id: rowId(name), "data-repository": name },
      h("td", {}, h("label", { class: "switch-label" }, toggle, h("span", { class: "switch-track", "aria-hidden": "true" })), note),
      h("td", {}, routeLink("repository", { registry, repository: name }, h("span", { class: "mono" }, name)),
        row && row.in_registry === false ? h("span", { class: "small muted" }, " (no longer in the registry)") : null),
      h("td", { class: "num" }, stat ? String(stat.images ?? 0) : dash()),
      h("td", {}, stat ? when(stat.last_push) : dash()),
      h("td", {}, latestCell),
      h("td", {}, findings));
  }

  /** Fetch the figures again and redraw one row, keeping its note; quietly does nothing when that fails. */
  async function refreshFigures(name) {
    try {
      const page = await api("repositories", { params: { integration: id, limit: pageSize(params, 100) } });
      const fresh = (page.repositories || []).find((item) => item.repository === name);
      const row = tbody.querySelector(`#${rowId(name)}`);
      if (!fresh || !row) return;
      stats.set(name, fresh);
      const note = row.querySelector(".row-note");
      const scale = largestTotal([...stats.values()].map((item) => item.latest?.vulnerabilities));
      const redrawn = repositoryRow(name, rows.get(name), fresh, scale);
      if (note) redrawn.querySelector(".row-note").replaceWith(note);
      row.replaceWith(redrawn);
    } catch {
      // The figures are a convenience; the switch already said what happened.
    }
  }

  all.addEventListener("click", async () => {
    all.disabled = true;
    bulk.busy("Activating every repository…");
    try {
      const result = await api(`integrations/${encodeURIComponent(id)}/repositories`, { method: "PUT", body: { enabled: true, repositories: "*" } });
      for (const done of result.repositories || []) rows.set(done.repository, { ...(rows.get(done.repository) || { in_registry: true }), repository: done.repository, enabled: true });
      bulk.ok(`${(result.repositories || []).length} repositories activated${result.note ? ` (${result.note})` : ""}.`);
      draw();
    } catch (error) {
      bulk.fail(error);
    }
    all.disabled = false;
  });
  filter.addEventListener("input", draw);

  put(slot,
    h("div", { class: "toolbar" }, filter, all, bulk.element),
    activation.truncated ? h("p", { class: "muted" }, "The registry's catalog was cut short: not every repository is listed.") : null,
    tableElement);
  const paging = h("div", { class: "paging" });
  slot.append(paging);
  draw();

  await pager(paging, async (continuation) => {
    try {
      const page = await api("repositories", { params: { integration: id, limit: pageSize(params, 100), continuation } });
      for (const item of page.repositories || []) stats.set(item.repository, item);
      draw();
      return page.continuation || null;
    } catch (error) {
      if (error.missing) {
        statsNote.replaceChildren(errorBox(error, "Image counts and findings per repository"));
        return null;
      }
      throw error;
    }
  }, "The repository figures");
}
