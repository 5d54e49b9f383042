// The dashboard's entry point: the function key, the navigation, and routing #/page?params to a page.

import { captureKeyFromUrl, forgetKey, getKey, setKey } from "./api.js";
import { h } from "./dom.js";
import { errorBox } from "./ui.js";
import { imagePage } from "./pages/image.js";
import { integrationPage } from "./pages/integration.js";
import { integrationsPage } from "./pages/integrations.js";
import { packagesPage } from "./pages/packages.js";
import { repositoriesPage } from "./pages/repositories.js";
import { repositoryPage } from "./pages/repository.js";
import { vulnerabilitiesPage } from "./pages/vulnerabilities.js";
import { vulnerabilityPage } from "./pages/vulnerability.js";

const ROUTES = {
  integrations: { page: integrationsPage, section: "integrations", title: "Integrations" },
  integration: { page: integrationPage, section: "integrations", title: "Integration" },
  repositories: { page: repositoriesPage, section: "integrations", title: "Repositories" },
  repository: { page: repositoryPage, section: "integrations", title: "Repository" },
  image: { page: imagePage, section: "integrations", title: "Image" },
  vulnerabilities: { page: vulnerabilitiesPage, section: "vulnerabilities", title: "Vulnerabilities" },
  vulnerability: { page: vulnerabilityPage, section: "vulnerabilities", title: "Vulnerability" },
  packages: { page: packagesPage, section: "packages", title: "Packages" },
};

function currentRoute() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [name, query = ""] = hash.split("?", 2);
  return { name: name || "integrations", params: new URLSearchParams(query) };
}

let generation = 0;

async function render() {
  const { name, params } = currentRoute();
  const route = ROUTES[name];
  const main = document.getElementById("main");
  const view = h("div", { class: "view", "data-page": route ? name : "unknown" });
  main.replaceChildren(view);
  for (const link of document.querySelectorAll("#nav a")) {
    link.toggleAttribute("aria-current", route !== undefined && link.dataset.section === route.section);
  }
  const mine = ++generation;
  if (!route) {
    view.append(h("h1", {}, "No such page"), h("p", {}, "Go to ", h("a", { href: "#/integrations" }, "the integrations"), "."));
    return;
  }
  document.title = `${route.title} · Lookout`;
  try {
    await route.page(view, params, { isCurrent: () => mine === generation });
  } catch (error) {
    view.append(errorBox(error, route.title));
  }
  if (mine === generation) view.dataset.ready = "true";
}

function renderKeyStatus() {
  const slot = document.getElementById("key-status");
  if (getKey()) {
    slot.replaceChildren(h("span", { class: "key-set", title: "Kept in this browser tab only" }, "Function key set"),
      h("button", { type: "button", class: "link", on: { click: () => forgetKey() } }, "Forget"));
  } else {
    slot.replaceChildren(h("button", { type: "button", class: "link", id: "key-open", on: { click: () => showKeyForm() } }, "Set function key"));
  }
}

function showKeyForm(message) {
  const notice = document.getElementById("notice");
  const input = h("input", { type: "password", id: "key-input", autocomplete: "off", placeholder: "function key", "aria-label": "Function key" });
  const form = h("form", { class: "key-form", id: "key-form" },
    message ? h("p", { id: "auth-message" }, message) : h("p", {}, "The API needs a function key in Azure (Function App → App keys)."),
    input,
    h("button", { type: "submit" }, "Use key"),
    h("button", { type: "button", class: "link", on: { click: () => { notice.hidden = true; } } }, "Dismiss"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    setKey(input.value);
    notice.hidden = true;
    render();
  });
  notice.replaceChildren(form);
  notice.hidden = false;
}

function start() {
  captureKeyFromUrl();
  renderKeyStatus();
  window.addEventListener("lookout:key", renderKeyStatus);
  window.addEventListener("lookout:auth", (event) => showKeyForm(event.detail));
  window.addEventListener("hashchange", () => {
    document.getElementById("notice").hidden = true;
    render();
  });
  render();
}

start();
