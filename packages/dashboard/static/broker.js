// One broker's panel on the tenants page: edit it (the API's problems listed
// next to the form, all at once), its public keys and rotation, credentials
// issued and shown once with a copy button, and its revocations.
import { all, apiBase, call, may, send } from "./api.js";
import { $, acting, ask, button, openPanel, replaceRows, row } from "./dom.js";

// An input's number, or null when it is empty; text that is no number goes as it is, for the API to name.
const numberOr = (text) => (text.trim() === "" ? null : /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim());

/** Sets up the broker panel; `open(namespace, broker)` shows one, `close()` hides it. */
export function brokerPanel(session) {
  const allowed = may(session.role);
  const act = acting(session);
  let at; // [namespace, broker] shown
  let current; // the broker as last loaded
  const path = () => `${apiBase(session.account)}/namespaces/${encodeURIComponent(at[0])}/brokers/${encodeURIComponent(at[1])}`;
  // Nothing to edit for a role that may not: the form stays, read-only.
  $("broker-fields").disabled = !allowed.brokers;

  const fill = (b) => {
    current = b;
    $("broker-title").textContent = `${b.name}.${at[0]}`;
    $("edit-description").value = b.description;
    $("edit-expiration").value = b.expiration ?? "";
    $("edit-preset").value = b.preset;
    $("edit-hook").value = b.on_publish?.url ?? "";
    $("edit-fail-open").checked = b.on_publish?.fail_open ?? false;
    $("edit-limits").replaceChildren(...Object.entries(b.limits).flatMap(([name, value]) => {
      const label = document.createElement("label");
      label.htmlFor = `limit-${name}`;
      label.textContent = name;
      const input = document.createElement("input");
      input.id = `limit-${name}`;
      input.dataset.limit = name;
      input.inputMode = "numeric";
      input.value = String(value);
      return [label, input];
    }));
  };

  const showKeys = async () => {
    const { keys } = (await call("GET", `${path()}/publickeys`)).result;
    $("keys-list").replaceChildren(...keys.map((k, i) => {
      const li = document.createElement("li");
      li.appendChild(document.createElement("code")).textContent = k.kid;
      li.append(i === 0 ? " (signs new credentials)" : " (still verifies)");
      return li;
    }));
  };

  const showRevocations = async () => {
    const jtis = await all(`${path()}/revocations`);
    replaceRows($("revocations-table").tBodies[0], jtis.map((jti) => {
      const tr = row([jti], { jti });
      const cell = tr.appendChild(document.createElement("td"));
      if (allowed.brokers) cell.appendChild(button("unrevoke", "Unrevoke", `Take back the revocation of ${jti}`, () => act(() => unrevoke(jti))));
      return tr;
    }));
    $("revocations-empty").hidden = jtis.length > 0;
  };

  async function unrevoke(jti) {
    await call("DELETE", `${path()}/revocations?jti=${encodeURIComponent(jti)}`);
    await showRevocations();
  }

  const showErrors = (problems) => {
    const ul = $("broker-edit-errors");
    ul.replaceChildren(...problems.map((p) => Object.assign(document.createElement("li"), { textContent: p })));
    ul.hidden = problems.length === 0;
  };

  // Only what changed goes to PATCH: absent fields stay, so two people's edits of different fields both hold.
  const changes = () => {
    const body = {};
    const description = $("edit-description").value;
    if (description !== current.description) body.description = description === "" ? null : description;
    const expiration = numberOr($("edit-expiration").value);
    if (expiration !== current.expiration) body.expiration = expiration;
    if ($("edit-preset").value !== current.preset) body.preset = $("edit-preset").value;
    const url = $("edit-hook").value.trim();
    const failOpen = $("edit-fail-open").checked;
    if (url === "" && current.on_publish !== undefined) body.on_publish = null;
    else if (url !== "" && (url !== current.on_publish?.url || failOpen !== current.on_publish?.fail_open)) body.on_publish = { url, fail_open: failOpen };
    const limits = {};
    for (const input of $("edit-limits").querySelectorAll("input")) {
      const value = numberOr(input.value);
      if (value !== current.limits[input.dataset.limit]) limits[input.dataset.limit] = value;
    }
    if (Object.keys(limits).length > 0) body.limits = limits;
    return body;
  };

  $("broker-edit").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!allowed.brokers) return;
    try {
      fill((await send("PATCH", path(), changes())).result);
      showErrors([]);
    } catch (e) {
      if (e.status === 400) showErrors(e.problems);
      else session.error(e);
    }
  });

  $("keys-rotate")?.addEventListener("click", () => act(async () => {
    if (!await ask("Rotate this broker's keys? Credentials signed by the key before the current one stop working.", "Rotate keys")) return;
    await call("POST", `${path()}/keys/rotate`);
    await showKeys();
  }));

  $("credential-issue")?.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams({ type: "TOKEN", topicAcl: $("issue-acl").value.trim() || "#" });
    for (const id of $("issue-client-ids").value.split(/[\s,]+/).filter(Boolean)) q.append("clientid", id);
    const expiration = $("issue-expiration").value.trim();
    if (expiration !== "") q.set("expiration", expiration);
    void act(async () => {
      const issued = (await call("GET", `${path()}/credentials?${q}`)).result;
      showIssued(issued);
    });
  });

  // The tokens live only in this table, until the next issue or another broker: the server keeps no copy to show again.
  const showIssued = (issued) => {
    if ($("issued-table") === null) return; // a role that may not issue has no such table
    $("issued-table").tBodies[0].replaceChildren(...Object.entries(issued).map(([clientId, token]) => {
      const tr = row([clientId], { clientId });
      tr.appendChild(document.createElement("td")).appendChild(document.createElement("code")).textContent = token;
      const copy = button("copy", "Copy", `Copy the token of ${clientId}`, async () => {
        try {
          await navigator.clipboard.writeText(token);
          copy.textContent = "Copied";
        } catch {
          // No clipboard (no permission, or not a secure context): select the token for the user to copy.
          getSelection().selectAllChildren(tr.cells[1]);
          copy.textContent = "Selected: press Ctrl+C";
        }
      });
      tr.appendChild(document.createElement("td")).appendChild(copy);
      return tr;
    }));
    $("issued-note").hidden = Object.keys(issued).length === 0;
  };

  $("revoke")?.addEventListener("submit", (event) => {
    event.preventDefault();
    void act(async () => {
      await call("POST", `${path()}/revocations?jti=${encodeURIComponent($("revoke-jti").value.trim())}`);
      event.target.reset();
      await showRevocations();
    });
  });


  const close = () => {
    at = undefined;
    showIssued({});
    $("broker-panel").hidden = true;
  };

  return {
    broker: () => at?.[1],
    open: async (namespace, broker, opener) => {
      if (at?.[0] !== namespace || at?.[1] !== broker) showIssued({});
      at = [namespace, broker];
      showErrors([]);
      fill((await call("GET", path())).result);
      await Promise.all([showKeys(), showRevocations()]);
      openPanel($("broker-panel"), opener, close);
    },
    close,
  };
}
