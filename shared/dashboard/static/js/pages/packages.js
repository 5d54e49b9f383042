// #/packages?name=|purl=&type= — where a package is installed: every recorded image, platform and layer.

import { api } from "../api.js";
import { h, routeHref, routeLink } from "../dom.js";
import { shortDigest } from "../format.js";
import { heading, pageSize, pager } from "../ui.js";

const TYPES = ["", "deb", "apk", "rpm", "pypi", "npm", "golang", "maven", "gem", "composer", "cargo", "nuget"];

function searchForm(query, type) {
  const input = h("input", { type: "search", id: "package-query", placeholder: "a name (openssl) or a package URL (pkg:npm/lodash@4.17.15)", props: { value: query }, "aria-label": "Package name or URL", required: true });
  const select = h("select", { id: "package-type", "aria-label": "Package type" },
    TYPES.map((value) => h("option", { value, props: { selected: value === type } }, value || "any type")));
  const form = h("form", { id: "package-search", class: "card" },
    h("div", { class: "inline-fields" }, input, select, h("button", { type: "submit", class: "primary" }, "Search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    const byPurl = text.startsWith("pkg:");
    window.location.hash = routeHref("packages", { purl: byPurl ? text : "", name: byPurl ? "" : text, type: byPurl ? "" : select.value });
  });
  return form;
}

export async function packagesPage(view, params) {
  const purl = params.get("purl") || "";
  const name = params.get("name") || "";
  const type = params.get("type") || "";
  view.append(heading("Packages", "Find every recorded image that holds a package, and the layer that brought it in."), searchForm(purl || name, type));
  if (!purl && !name) {
    view.append(h("p", { class: "card muted", id: "package-hint" }, "Search by name, optionally of one type, or by an exact package URL."));
    return;
  }
  const tbody = h("tbody");
  const card = h("section", { class: "card" },
    h("table", { class: "data", id: "packages-table" },
      h("thead", {}, h("tr", {}, ["Package", "Version", "Type", "Image", "Platform", "Layer"].map((t) => h("th", { scope: "col" }, t)))),
      tbody));
  view.append(card);
  let shown = 0;
  await pager(card, async (continuation) => {
    const page = await api("packages", { params: { purl, name: purl ? undefined : name, type: purl ? undefined : type, limit: pageSize(params, 50), continuation } });
    for (const item of page.packages || []) {
      shown += 1;
      tbody.append(h("tr", {},
        h("td", {}, h("span", { class: "pkg-name" }, item.name), h("div", { class: "small muted mono" }, item.purl)),
        h("td", { class: "mono" }, item.version),
        h("td", {}, item.type),
        h("td", {}, h("span", { class: "mono small muted" }, item.registry), h("div", {},
          routeLink("image", { registry: item.registry, repository: item.repository, reference: item.digest, platform: item.platform },
            h("span", { class: "mono" }, item.repository, (item.tags || []).length ? `:${item.tags.join(", ")}` : "@"),
            (item.tags || []).length ? null : shortDigest(item.digest)))),
        h("td", {}, item.platform || "—"),
        h("td", {}, item.layer ? shortDigest(item.layer) : "—")));
    }
    if (!shown) tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No recorded image holds such a package.")));
    return page.continuation || null;
  }, "The package search");
}
