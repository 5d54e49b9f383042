// An image's policy results (GET /api/images/policy) as a panel, and the short form a list row shows from the
// image record's `policy` counts. A result reads as a mark and a word (✕ fail, ? unknown, ✓ pass), never as a
// colour alone.

import { api } from "../api.js";
import { h, put, routeLink } from "../dom.js";
import { when } from "../format.js";
import { errorBox, loading } from "../ui.js";

const OUTCOMES = {
  fail: { mark: "✕", many: "failed" },
  unknown: { mark: "?", many: "unknown" },
  pass: { mark: "✓", many: "passed" },
};

/** The outcome a result names, `unknown` for anything the page does not know. */
function outcome(value) {
  return Object.hasOwn(OUTCOMES, value) ? value : "unknown";
}

/** A result as a badge: its mark and its word. */
export function outcomeBadge(value) {
  const known = outcome(value);
  return h("span", { class: `outcome outcome-${known}`, "data-result": known },
    h("span", { class: "outcome-mark", "aria-hidden": "true" }, OUTCOMES[known].mark), known);
}

/** `{pass, fail, unknown}` counts as numbers (missing ones 0). */
function counted(summary) {
  const value = summary && typeof summary === "object" ? summary : {};
  return Object.fromEntries(Object.keys(OUTCOMES).map((key) => [key, Math.max(0, Number(value[key]) || 0)]));
}

/** "4 failed · 1 unknown · 1 passed", each part marked like its badge; "no policy evaluated" when all are 0. */
export function policyCounts(summary, attributes = {}) {
  const counts = counted(summary);
  const parts = Object.keys(OUTCOMES).filter((key) => counts[key]).map((key) => h("span", { class: `outcome-count outcome-text-${key}`, "data-result": key },
    h("span", { "aria-hidden": "true" }, `${OUTCOMES[key].mark} `), `${counts[key]} ${OUTCOMES[key].many}`));
  if (!parts.length) return h("span", { class: "muted", ...attributes }, "no policy evaluated");
  return h("span", { class: "policy-counts", ...attributes }, parts.flatMap((part, index) => (index ? [" · ", part] : [part])));
}

/**
 * The short form for a list row: "✕ 4 ? 1 ✓ 1" with the words in its label and tooltip; a dash when the image
 * has no evaluation yet.
 */
export function policySummary(summary) {
  const counts = counted(summary);
  const keys = Object.keys(OUTCOMES).filter((key) => counts[key]);
  if (!keys.length) return h("span", { class: "muted", title: "no policy evaluated yet" }, "—");
  const words = keys.map((key) => `${counts[key]} ${OUTCOMES[key].many}`).join(", ");
  return h("span", { class: "policy-summary", role: "img", "aria-label": `Policies: ${words}`, title: `Policies: ${words}` },
    keys.map((key) => h("span", { class: `outcome-chip outcome-${key}` }, `${OUTCOMES[key].mark} ${counts[key]}`)));
}

function reasonItem(reason) {
  const item = h("li", { class: "reason" }, h("span", {}, String(reason?.text ?? "")));
  const about = [];
  if (reason?.package) about.push(h("span", { class: "reason-part" }, "package ", h("span", { class: "mono" }, reason.package)));
  if (reason?.advisory) {
    about.push(h("span", { class: "reason-part" }, "advisory ",
      routeLink("vulnerability", { id: reason.advisory }, h("span", { class: "mono" }, reason.advisory))));
  }
  if (about.length) item.append(h("div", { class: "small muted" }, about.flatMap((part, index) => (index ? [" · ", part] : [part]))));
  return item;
}

function resultDetails(result) {
  const known = outcome(result.result);
  const reasons = Array.isArray(result.reasons) ? result.reasons : [];
  const omitted = Math.max(0, Number(result.omitted) || 0);
  const details = h("details", { class: `policy policy-${known}`, "data-policy": result.id, "data-result": known, open: known !== "pass" },
    h("summary", {},
      outcomeBadge(known), " ",
      h("strong", { class: "policy-title" }, result.title || result.id), " ",
      h("span", { class: "mono small muted" }, `${result.id} v${result.version ?? 1}`),
      reasons.length ? h("span", { class: "small muted" }, ` · ${reasons.length + omitted} reason${reasons.length + omitted === 1 ? "" : "s"}`) : null));
  if (reasons.length) {
    details.append(h("ul", { class: "reasons" }, reasons.map(reasonItem)));
  } else {
    details.append(h("p", { class: "small muted reasons-none" }, known === "pass" ? "Nothing is at fault." : "No reason was given."));
  }
  if (omitted) details.append(h("p", { class: "small muted" }, `and ${omitted} more not listed`));
  return details;
}

function changesLine(document) {
  const changes = Array.isArray(document.changes) ? document.changes : [];
  if (!changes.length || !document.previous) return null;
  return h("p", { class: "small", id: "policy-changes" },
    h("strong", {}, "Changed since the evaluation of "), when(document.previous.evaluated), h("strong", {}, ": "),
    changes.map((change, index) => h("span", { class: "policy-change" }, index ? "; " : "",
      `${change.title || change.id}: ${change.before ?? "not evaluated"} → ${change.after}`)));
}

/** The Policies panel of an image: counts in its header, each policy with its result and reasons (a pass folded). */
export function policiesCard(image) {
  const counts = h("span", { id: "policy-counts" });
  const body = h("div", { id: "policies-body" }, loading("Loading the policies"));
  const card = h("section", { class: "card", id: "policies", "aria-labelledby": "policies-title" },
    h("div", { class: "card-head" }, h("h2", { id: "policies-title" }, "Policies"), counts), body);
  (async () => {
    let document;
    try {
      document = await api("images/policy", { params: { registry: image.registry, repository: image.repository, reference: image.digest } });
    } catch (error) {
      body.replaceChildren(errorBox(error, "The policies"));
      return;
    }
    const results = Array.isArray(document?.results) ? document.results : [];
    put(counts, policyCounts(document?.summary));
    const disabled = Array.isArray(document?.disabled) ? document.disabled : [];
    put(body,
      results.length ? h("div", { class: "policy-list" }, results.map(resultDetails)) : h("p", { class: "empty" }, "No policy is enabled for this image."),
      changesLine(document || {}),
      disabled.length ? h("p", { class: "small muted", id: "policies-disabled" }, "Switched off for this image: ",
        disabled.flatMap((id, index) => [index ? ", " : null, h("span", { class: "mono" }, id)])) : null,
      h("p", { class: "small muted" }, "Evaluated ", when(document?.evaluated),
        document?.stored === false ? " (just now, for this view: not stored yet)" : ""));
  })();
  return card;
}
