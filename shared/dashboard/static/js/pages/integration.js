// #/integration?id=ID — one integration: its health, the connection steps of the README, and removal.

import { api } from "../api.js";
import { codeBlock, externalLink, facts, h, httpsUrl, put, routeLink } from "../dom.js";
import { plural, statusBadge, when } from "../format.js";
import { errorBox, heading, loading, statusLine } from "../ui.js";

const TOKEN_NAME = "docker-scout-readonly-token";

/** The outcome of a connection test: passed, or the error's code, message and what to do. */
function connectionResult(connection) {
  if (!connection) return null;
  if (connection.ok) {
    return h("div", { class: "result ok", "data-ok": "true" }, h("strong", {}, "Connection test passed."),
      " Lookout reached the registry, signed in with the token and listed its repositories.");
  }
  const error = connection.error || {};
  return h("div", { class: "result bad", "data-ok": "false", "data-code": error.code || "" },
    h("strong", {}, `Connection test failed: ${error.code || "error"}`),
    error.message ? h("p", { class: "error-text" }, error.message) : null,
    error.hint ? h("p", { class: "hint" }, h("span", { class: "hint-label" }, "What to do: "), error.hint) : null);
}

function healthCard(integration, onChanged, connection) {
  const result = h("div", { id: "connection-result" }, connectionResult(connection));
  const status = statusLine({ id: "retest-status" });
  const retest = h("button", { type: "button", id: "retest" }, "Run the connection test again");
  retest.addEventListener("click", async () => {
    retest.disabled = true;
    result.replaceChildren();
    status.busy("Testing the connection…");
    try {
      const outcome = await api(`integrations/${encodeURIComponent(integration.id)}/test`, { method: "POST" });
      onChanged(outcome, true);
    } catch (error) {
      status.fail(error);
      retest.disabled = false;
    }
  });
  return h("section", { class: "card", id: "health" },
    h("h2", {}, "Health"),
    facts([
      ["Status", h("span", { id: "integration-status" }, statusBadge(integration.status))],
      ["Token", integration.username ? h("span", { class: "mono", id: "token-name" }, integration.username) : h("span", { class: "muted" }, "not set yet")],
      ["Created", when(integration.created)],
      ["Last connection test", when(integration.last_tested)],
      ["Last event", when(integration.last_event)],
      ["Last error", integration.last_error
        ? h("span", {}, h("span", { class: "error-text", id: "last-error" }, integration.last_error), " ", when(integration.last_error_at))
        : null],
    ]),
    h("div", { class: "actions" }, retest, routeLink("repositories", { integration: integration.id }, "Repositories →")),
    status.element, result);
}

function templateStep(integration) {
  const template = integration.registry_template || {};
  const parameters = template.parameters || {};
  const deploy = httpsUrl(template.deploy_to_azure_url);
  return h("li", { class: "step", id: "step-template" },
    h("h3", {}, "Deploy the registry template"),
    h("p", {}, "In the registry's resource group: an Event Grid system topic with a webhook subscription for pushes and deletes, and the read-only token ",
      h("code", {}, TOKEN_NAME), ". With the Azure CLI:"),
    template.az_command ? codeBlock(template.az_command, { id: "az-command" }) : null,
    h("p", {}, "or in the portal, with the parameters below:"),
    h("div", { class: "actions" },
      deploy
        ? h("a", { class: "button deploy", id: "deploy-to-azure", href: deploy, target: "_blank", rel: "noopener noreferrer external" }, "Deploy to Azure")
        : h("span", { class: "muted" }, "(no portal link)"),
      template.template_url ? externalLink(template.template_url, "the template") : null),
    facts([
      ["RegistryName", parameters.RegistryName ? h("code", {}, parameters.RegistryName) : null],
      ["DockerScoutWebhook", parameters.DockerScoutWebhook ? h("span", { class: "muted" }, "the webhook URL above") : null],
    ]));
}

function tokenStep(integration, onChanged) {
  const template = integration.registry_template || {};
  const username = h("input", { type: "text", id: "token-username", autocomplete: "off", spellcheck: "false", props: { value: integration.username || TOKEN_NAME } });
  const password = h("input", { type: "password", id: "token-password", autocomplete: "new-password", required: true, "aria-label": "Token password" });
  const status = statusLine({ id: "token-status" });
  const result = h("div", { id: "token-result" });
  const form = h("form", { id: "token-form", class: "inline-fields" },
    h("label", { for: "token-username" }, "Token"), username,
    h("label", { for: "token-password" }, "Password"), password,
    h("button", { type: "submit", class: "primary", id: "token-save" }, integration.username ? "Replace password and test" : "Save password and test"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.busy("Storing the password and testing the connection…");
    result.replaceChildren();
    try {
      const outcome = await api(`integrations/${encodeURIComponent(integration.id)}/token`, {
        method: "PUT", body: { username: username.value.trim() || undefined, password: password.value },
      });
      password.value = "";
      status.clear();
      put(result, connectionResult(outcome.connection));
      onChanged(outcome);
    } catch (error) {
      status.fail(error);
    }
  });
  return h("li", { class: "step", id: "step-token" },
    h("h3", {}, "Hand Lookout the token password"),
    h("p", {}, "Generate a password for the token (it works after about a minute):"),
    template.token_password_command ? codeBlock(template.token_password_command, { id: "password-command" }) : null,
    h("p", {}, "Lookout stores it encrypted, never shows it again, and tests the connection at once. A new password that fails its test does not replace a working one."),
    form, status.element, result);
}

function removeCard(integration, view) {
  const purge = h("input", { type: "checkbox", id: "purge" });
  const status = statusLine({ id: "remove-status" });
  const confirm = h("div", { class: "confirm", id: "remove-confirm", hidden: true });
  const ask = h("button", { type: "button", class: "danger", id: "remove" }, "Remove integration…");
  ask.addEventListener("click", () => {
    const really = h("button", { type: "button", class: "danger", id: "remove-confirmed" }, "Remove it");
    const cancel = h("button", { type: "button", id: "remove-cancel" }, "Cancel");
    confirm.replaceChildren(h("p", {}, `Remove the integration of ${integration.registry}${purge.checked ? " and delete its analyses" : ""}? Its webhook URL stops working at once.`), really, cancel);
    confirm.hidden = false;
    cancel.addEventListener("click", () => { confirm.hidden = true; });
    really.addEventListener("click", async () => {
      really.disabled = true;
      status.busy("Removing…");
      try {
        const removed = await api(`integrations/${encodeURIComponent(integration.id)}`, {
          method: "DELETE", params: { purge: purge.checked ? "true" : "false" },
        });
        view.replaceChildren(removedView(removed));
      } catch (error) {
        really.disabled = false;
        status.fail(error);
      }
    });
  });
  return h("section", { class: "card danger-zone", id: "removal" },
    h("h2", {}, "Remove"),
    h("p", {}, "Removes the integration and its repository settings. Lookout then refuses its webhook URL (Event Grid does not retry a 401)."),
    h("label", { class: "check" }, purge, "also delete its analyses (images, SBOMs, findings)"),
    h("div", { class: "actions" }, ask), confirm, status.element);
}

function removedView(removed) {
  return h("div", { class: "view", id: "removed" },
    heading(`Removed ${removed.registry}`, removed.analyses_kept
      ? "Its analyses are kept: its images stay readable."
      : `Its analyses were deleted (${plural(removed.images_deleted, "image")}).`),
    h("section", { class: "card" },
      h("h2", {}, "Left on the registry's side"),
      h("ul", {}, (removed.remaining_azure_resources || []).map((resource) => h("li", {}, resource))),
      h("p", {}, "Delete them with:"),
      h("div", { id: "cleanup-commands" }, (removed.cleanup_commands || []).map((command) => codeBlock(command)))),
    h("p", {}, h("a", { href: "#/integrations" }, "← All integrations")));
}

export async function integrationPage(view, params) {
  const id = params.get("id") || "";
  const slot = h("div", {}, loading("Loading the integration"));
  view.append(slot);
  let integration;
  try {
    integration = await api(`integrations/${encodeURIComponent(id)}`);
  } catch (error) {
    slot.replaceChildren(errorBox(error, "The integration"));
    return;
  }
  let current = integration;
  const health = h("div", {});
  const onChanged = (outcome, fromRetest = false) => {
    const { connection, ...fields } = outcome;
    current = { ...current, ...fields };
    health.replaceChildren(healthCard(current, onChanged, fromRetest ? connection : null));
    const head = view.querySelector("#head-status");
    if (head) head.replaceChildren(statusBadge(current.status));
  };
  health.append(healthCard(current, onChanged, null));
  put(slot,
    h("header", { class: "page-head" },
      h("p", { class: "crumbs" }, h("a", { href: "#/integrations" }, "Integrations"), " / "),
      h("h1", {}, integration.registry, " ", h("span", { id: "head-status" }, statusBadge(integration.status))),
      h("p", { class: "subtitle" }, "Connect the registry in four steps: the webhook, the template, the token, the repositories.")),
    health,
    h("section", { class: "card" },
      h("h2", {}, "Connection"),
      h("ol", { class: "steps" },
        h("li", { class: "step", id: "step-webhook" },
          h("h3", {}, "The webhook URL"),
          h("p", {}, "Event Grid delivers the registry's events here. It holds a secret: keep it private."),
          codeBlock(integration.webhook_url || "", { id: "webhook-url" })),
        templateStep(integration),
        tokenStep(integration, onChanged),
        h("li", { class: "step", id: "step-repositories" },
          h("h3", {}, "Activate repositories"),
          h("p", {}, "Only activated repositories are analyzed; activating one analyzes its latest image at once."),
          routeLink("repositories", { integration: integration.id }, "Choose repositories →")))),
    removeCard(integration, view));
}
