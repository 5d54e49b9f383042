// Pieces every page uses: headings, loading and error states, paging with "More", filters.

import { h } from "./dom.js";
import { SEVERITIES } from "./format.js";

/** A page heading with an optional line under it. */
export function heading(title, subtitle) {
  return h("header", { class: "page-head" }, h("h1", {}, title), subtitle ? h("p", { class: "subtitle" }, subtitle) : null);
}

export function loading(what = "Loading") {
  return h("p", { class: "loading" }, `${what}…`);
}

/**
 * An error as a person reads it: what failed and, for a missing endpoint or a refused key, what
 * that means. `context` names what was being loaded.
 */
export function errorBox(error, context) {
  const kind = error?.missing ? "missing" : error?.auth ? "auth" : "error";
  const title = error?.missing ? `${context}: not available on this Lookout`
    : error?.auth ? `${context}: the API wants a function key`
      : error?.status === 404 ? `${context}: not found`
        : `${context} failed`;
  const box = h("div", { class: `error-box error-${kind}`, role: "alert", "data-kind": kind },
    h("strong", {}, title),
    h("p", {}, String(error?.message ?? error)));
  if (error?.code && !error.missing && !error.auth) box.append(h("p", { class: "muted" }, `code: ${error.code}`));
  return box;
}

/** A small status line that can show progress, success or failure of an action. */
export function statusLine(attributes = {}) {
  const line = h("p", { class: "action-status", "aria-live": "polite", ...attributes });
  return {
    element: line,
    busy(text) { line.className = "action-status busy"; line.replaceChildren(text); },
    ok(text) { line.className = "action-status ok"; line.replaceChildren(text); },
    fail(error) { line.className = "action-status bad"; line.replaceChildren(String(error?.message ?? error)); },
    clear() { line.className = "action-status"; line.replaceChildren(); },
  };
}

/**
 * Paging through `continuation`: calls `load(continuation)` (which resolves to the next token or
 * null) first at once, then each time "More" is pressed. Errors are shown in `into`.
 */
export function pager(into, load, context) {
  const button = h("button", { type: "button", class: "more", hidden: true }, "More");
  const status = h("div", { class: "pager-status" });
  let token = null;
  async function next() {
    button.disabled = true;
    status.replaceChildren(loading());
    try {
      token = await load(token);
      status.replaceChildren();
    } catch (error) {
      status.replaceChildren(errorBox(error, context));
      token = null;
    }
    button.disabled = false;
    button.hidden = !token;
  }
  button.addEventListener("click", next);
  into.append(status, button);
  return next();
}

/** The page size a route asks for with `limit=` (1 to 200), else `fallback`. */
export function pageSize(params, fallback) {
  const value = Number.parseInt(params.get("limit") || "", 10);
  return Number.isInteger(value) && value >= 1 && value <= 200 ? value : fallback;
}

/** Severity checkboxes and a "fixable only" box; `selected` is a Set of levels, `fixable` a boolean. */
export function severityFilter(selected, fixable, onChange, idPrefix = "filter") {
  const boxes = SEVERITIES.map((level) => {
    const input = h("input", { type: "checkbox", id: `${idPrefix}-${level}`, name: "severity", value: level, props: { checked: selected.has(level) } });
    return h("label", { class: `chip sev-chip-${level}` }, input, level);
  });
  const fix = h("input", { type: "checkbox", id: `${idPrefix}-fixable`, name: "fixable", props: { checked: fixable } });
  const fieldset = h("fieldset", { class: "filters" }, h("legend", {}, "Show"), boxes,
    h("label", { class: "chip" }, fix, "fixable only"));
  fieldset.addEventListener("change", () => {
    const levels = new Set(boxes.map((label) => label.querySelector("input")).filter((i) => i.checked).map((i) => i.value));
    onChange(levels, fix.checked);
  });
  return fieldset;
}
