// The HTTP API as the dashboard calls it: the function key, JSON in and out, and errors a person can read.
//
// The page is served at <prefix>/dashboard/, so the API is one level up (<prefix>/), whatever the
// host's route prefix. In Azure the API needs a function key: the page takes it once from ?code=,
// keeps it in this tab's sessionStorage (never in localStorage, never in the URL) and sends it as
// x-functions-key. The local host needs none.

const KEY_STORAGE = "lookout.functionKey";

export const API_BASE = new URL("../", window.location.href.split("#")[0]);

/** A failed API call: `status` (0 when Lookout did not answer), the API's error `code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, { missing = false } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.missing = missing;
  }

  /** The API refused the call for want of a (valid) function key. */
  get auth() {
    return this.status === 401 || this.status === 403;
  }
}

/** Move a key given as ?code= into this tab's storage and take it out of the address bar. */
export function captureKeyFromUrl() {
  const url = new URL(window.location.href);
  const code = url.searchParams.get("code");
  if (code === null) return;
  if (code) setKey(code);
  url.searchParams.delete("code");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
}

export function getKey() {
  try {
    return window.sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setKey(key) {
  window.sessionStorage.setItem(KEY_STORAGE, key.trim());
  window.dispatchEvent(new CustomEvent("lookout:key"));
}

export function forgetKey() {
  window.sessionStorage.removeItem(KEY_STORAGE);
  window.dispatchEvent(new CustomEvent("lookout:key"));
}

/** The URL of an API path with query parameters (empty values left out). */
export function apiUrl(path, params = {}) {
  const url = new URL(path, API_BASE);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  return url;
}

function describe(status, method, path, body) {
  const route = `${API_BASE.pathname}${path}`;
  const error = body && typeof body === "object" && body.error && typeof body.error === "object" ? body.error : null;
  if (status === 401 || status === 403) {
    const given = getKey() ? "The function key this page has was refused" : "This page has no function key";
    return new ApiError(status, error?.code || "unauthorized",
      `${given} (HTTP ${status}). Open the dashboard with ?code=<function key>, or enter the key above.`);
  }
  if (error) return new ApiError(status, String(error.code || "error"), String(error.message || `HTTP ${status}`));
  if (status === 404) {
    return new ApiError(404, "no-endpoint",
      `This Lookout does not answer ${method} ${route} yet: the page needs a newer version of the API.`,
      { missing: true });
  }
  return new ApiError(status, "http-error", `${method} ${route} failed with HTTP ${status}.`);
}

/**
 * Call the API. Resolves to the parsed JSON (null for an empty body), or to the Response when
 * `raw` is set; rejects with an ApiError. A 401/403 also fires the `lookout:auth` event.
 */
export async function api(path, { method = "GET", params, body, raw = false, accept = "application/json" } = {}) {
  const headers = { Accept: accept };
  const key = getKey();
  if (key) headers["x-functions-key"] = key;
  const init = { method, headers, credentials: "same-origin", cache: "no-store", redirect: "error" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, params), init);
  } catch {
    throw new ApiError(0, "unreachable", "Lookout did not answer. Is the app running?");
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    const error = describe(response.status, method, path, parsed);
    if (error.auth) window.dispatchEvent(new CustomEvent("lookout:auth", { detail: error.message }));
    throw error;
  }
  if (raw) return response;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, "bad-json", `${API_BASE.pathname}${path} did not answer JSON.`);
  }
}
