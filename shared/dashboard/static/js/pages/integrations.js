// #/integrations — every connected registry with its health, and the form that adds one.

import { api } from "../api.js";
import { h, routeHref, routeLink, table } from "../dom.js";
import { statusBadge, when } from "../format.js";
import { errorBox, heading, loading, statusLine } from "../ui.js";

function lastError(integration) {
  if (!integration.last_error) return h("span", { class: "muted" }, "—");
  return h("div", { class: "last-error" }, h("span", { class: "error-text" }, integration.last_error),
    integration.last_error_at ? h("div", { class: "muted small" }, when(integration.last_error_at)) : null);
}

function integrationsTable(integrations) {
  const rows = integrations.map((integration) => [
    routeLink("integration", { id: integration.id }, h("strong", {}, integration.registry)),
    statusBadge(integration.status),
    lastError(integration),
    when(integration.last_event),
    when(integration.last_tested),
    routeLink("repositories", { integration: integration.id }, String(integration.activated_repositories ?? 0)),
    String(integration.images_analyzed ?? 0),
  ]);
  return table(["Registry", "Status", "Last error", "Last event", "Last test", "Activated repositories", "Images"],
    rows, { id: "integrations-table", class: "data" });
}

function addForm() {
  const registry = h("input", {
    type: "text", id: "registry-input", name: "registry", required: true, autocomplete: "off", spellcheck: "false",
    placeholder: "myregistry.azurecr.io", "aria-label": "Registry login server",
  });
  const insecure = h("input", { type: "checkbox", id: "insecure-input", name: "insecure" });
  const status = statusLine({ id: "add-status" });
  const form = h("form", { id: "add-integration", class: "card form-row" },
    h("h2", {}, "Connect a registry"),
    h("p", { class: "muted" }, "Lookout creates a pending integration with its own webhook URL; the next page walks through the rest."),
    h("div", { class: "inline-fields" },
      h("label", { for: "registry-input" }, "Login server"), registry,
      h("label", { class: "check" }, insecure, "plain HTTP (a registry on this machine)"),
      h("button", { type: "submit", id: "add-button", class: "primary" }, "Add registry")),
    status.element);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.busy("Creating the integration…");
    try {
      const created = await api("integrations", { method: "POST", body: { registry: registry.value.trim(), insecure: insecure.checked } });
      window.location.hash = routeHref("integration", { id: created.id });
    } catch (error) {
      status.fail(error);
    }
  });
  return form;
}

export async function integrationsPage(view) {
  view.append(heading("Integrations", "Registries that send their push events to Lookout, and how each is doing."));
  const slot = h("section", { class: "card" }, loading("Loading the integrations"));
  view.append(slot, addForm());
  try {
    const { integrations } = await api("integrations");
    if (!integrations.length) {
      slot.replaceChildren(h("p", { class: "empty", id: "no-integrations" }, "No registry is connected yet. Add one below."));
    } else {
      slot.replaceChildren(integrationsTable(integrations));
    }
  } catch (error) {
    slot.replaceChildren(errorBox(error, "The integrations"));
  }
}
