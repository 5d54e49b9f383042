// #/repository?registry=R&repository=P — a repository's images, newest first, paged with "More", each with
// its findings, its policy results in short and whether its base image moved on; and a form that opens one
// image by tag or digest (which works with any version of the API).

import { ApiError, api } from "../api.js";
import { h, routeHref, routeLink } from "../dom.js";
import { largestTotal, severityCell } from "../charts.js";
import { shortDigest, statusBadge, when } from "../format.js";
import { errorBox, heading, pageSize, pager } from "../ui.js";
import { policySummary } from "../panels/policies.js";

/** A "rebuild needed" mark when a platform's base image tag now points elsewhere. */
function rebuildMark(image) {
  const moved = (image.platforms || []).filter((p) => p.base && p.base.current_digest);
  if (!moved.length) return null;
  const names = moved.map((p) => `${p.platform}: ${p.base.name}`).join("; ");
  return h("span", { class: "rebuild-chip", title: `the base image's tag points at a newer image (${names})` },
    h("span", { "aria-hidden": "true" }, "⚠ "), "rebuild needed");
}

function openForm(registry, repository) {
  const reference = h("input", { type: "text", id: "reference-input", placeholder: "tag or sha256:digest", autocomplete: "off", spellcheck: "false", required: true, "aria-label": "Tag or digest" });
  const form = h("form", { id: "open-image", class: "inline-fields" },
    h("label", { for: "reference-input" }, "Open an image"), reference, h("button", { type: "submit" }, "Open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = routeHref("image", { registry, repository, reference: reference.value.trim() });
  });
  return form;
}

export async function repositoryPage(view, params) {
  const registry = params.get("registry") || "";
  const repository = params.get("repository") || "";
  view.append(
    h("header", { class: "page-head" },
      h("p", { class: "crumbs" }, h("a", { href: "#/integrations" }, "Integrations"), " / ", h("span", { class: "mono" }, registry), " /"),
      h("h1", { class: "mono" }, repository),
      h("p", { class: "subtitle" }, "Images Lookout recorded in this repository, newest first.")),
    h("section", { class: "card" }, openForm(registry, repository)));
  if (!registry || !repository) {
    view.append(errorBox(new Error("The link names no registry or repository."), "The repository"));
    return;
  }
  const tbody = h("tbody");
  const images = [];
  const tableElement = h("table", { class: "data", id: "images-table" },
    h("thead", {}, h("tr", {}, ["Tags", "Digest", "Status", "Platforms", "Received", "Findings", "Fixable", "Policies"].map((t) => h("th", { scope: "col" }, t)))),
    tbody);
  const card = h("section", { class: "card" }, h("h2", {}, "Images"), tableElement);
  view.append(card);

  function draw() {
    const scale = largestTotal(images.map((image) => image.vulnerabilities));
    tbody.replaceChildren(...images.map((image) => h("tr", { "data-digest": image.digest },
      h("td", {}, (image.tags || []).length
        ? (image.tags || []).map((tag) => h("span", { class: "tag" }, routeLink("image", { registry, repository, reference: tag }, tag)))
        : h("span", { class: "muted" }, "untagged")),
      h("td", {}, routeLink("image", { registry, repository, reference: image.digest }, shortDigest(image.digest))),
      h("td", {}, statusBadge(image.status), image.status === "analyzed" ? rebuildMark(image) : null),
      h("td", {}, (image.platforms || []).map((p) => p.platform).join(", ") || "—"),
      h("td", {}, when(image.received || image.event_time)),
      h("td", {}, image.status === "analyzed" ? severityCell(image.vulnerabilities, { scale }) : h("span", { class: "muted" }, "—")),
      h("td", { class: "num" }, image.status === "analyzed" ? String(image.fixable ?? 0) : "—"),
      h("td", { class: "policies-cell" }, image.status === "analyzed" ? policySummary(image.policy) : h("span", { class: "muted" }, "—")))));
    if (!images.length) tbody.append(h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No image recorded yet.")));
  }

  const older = new ApiError(404, "no-endpoint", "This Lookout does not list a repository's images yet "
    + "(GET /api/images without a reference): the page needs a newer version of the API. Open an image by tag or digest above.",
  { missing: true });
  await pager(card, async (continuation) => {
    let page;
    try {
      page = await api("images", { params: { registry, repository, limit: pageSize(params, 25), continuation } });
    } catch (error) {
      // An API without the listing asks for the reference its single-image lookup needs.
      if (error.status === 400 && /reference/.test(error.message) && !continuation) throw older;
      throw error;
    }
    if (!page || !Array.isArray(page.images)) throw older;
    images.push(...page.images);
    draw();
    return page.continuation || null;
  }, "The list of images");
}
