// Building the page from elements and text nodes only.
//
// Every value shown comes from a registry or an advisory feed and may be hostile, so nothing here
// parses HTML: text goes in as text nodes, attributes are set one by one, event-handler and style
// attributes are refused, and links are either internal (#/...) or https URLs that passed httpsUrl().

const SVG_NS = "http://www.w3.org/2000/svg";
const FORBIDDEN_ATTRIBUTE = /^(on|style$|srcdoc$|formaction$)/i;
const URL_ATTRIBUTES = new Set(["href", "src", "action", "xlink:href"]);

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (FORBIDDEN_ATTRIBUTE.test(name)) throw new Error(`attribute ${name} is not allowed`);
    if (URL_ATTRIBUTES.has(name.toLowerCase())) {
      const text = String(value);
      if (!text.startsWith("#") && httpsUrl(text) === null) throw new Error(`${name} must be internal or https`);
    }
    element.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `element` with `children` (nodes or values shown as text; null and false skipped). */
export function put(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Append `children` to `element` (nodes or values shown as text; null and false skipped). */
export function add(element, ...children) {
  append(element, children);
  return element;
}

/**
 * An HTML element: h("a", {class: "x", href: "#/image?..."}, "text", otherNode).
 * Props: `class`, `text`, `on` ({event: handler}), `props` (DOM properties such as `checked`,
 * `value`, `disabled`), anything else an attribute. Children are nodes or values shown as text.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  const { on, props, text, ...rest } = attributes;
  setAttributes(element, rest);
  if (props) Object.assign(element, props);
  if (on) for (const [event, handler] of Object.entries(on)) element.addEventListener(event, handler);
  if (text !== undefined && text !== null) element.textContent = String(text);
  append(element, children);
  return element;
}

/** An SVG element with attributes (numbers and class names; no URLs, no handlers). */
export function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

/** The value as an https URL string, or null: other schemes, credentials in the URL and junk are refused. */
export function httpsUrl(value) {
  if (typeof value !== "string" || value.length > 2048) return null;
  let url;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" || url.username || url.password || !url.hostname) return null;
  return url.href;
}

/** A link out of the dashboard when `url` is https (new tab, no referrer, no opener); else the URL as text. */
export function externalLink(url, label) {
  const safe = httpsUrl(url);
  if (safe === null) return h("span", { class: "mono unlinked", title: "not an https URL: not linked" }, String(url ?? ""));
  return h("a", { href: safe, target: "_blank", rel: "noopener noreferrer external" }, label ?? safe);
}

/** An internal link to a dashboard route with query parameters. */
export function routeLink(route, params, ...children) {
  return h("a", { href: routeHref(route, params) }, ...children);
}

/** `#/route?key=value...`, leaving out empty values. */
export function routeHref(route, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return `#/${route}${text ? `?${text}` : ""}`;
}

/** A button that copies `text` to the clipboard and says so. */
export function copyButton(text, label = "Copy") {
  const button = h("button", { type: "button", class: "copy" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
  return button;
}

/** A block of copyable text (a command, a URL) with its copy button. */
export function codeBlock(text, attributes = {}) {
  return h("div", { class: "code-block" }, h("pre", attributes, h("code", {}, text)), copyButton(text));
}

/** A table with a header row; `rows` are arrays of cells (nodes or values). */
export function table(headers, rows, attributes = {}) {
  return h("table", attributes,
    h("thead", {}, h("tr", {}, headers.map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))));
}

/** A definition list of [term, value] pairs, leaving out empty values. */
export function facts(pairs, attributes = {}) {
  const list = h("dl", { class: "facts", ...attributes });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    list.append(h("dt", {}, term), h("dd", {}, value));
  }
  return list;
}
