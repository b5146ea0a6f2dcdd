// The dashboard's entry: sign-in with an admin API token (kept in
// sessionStorage only), then the overview and clients pages.
import { call, forgetToken, keepToken, token } from "./api.js";
import { clientsPage } from "./clients.js";
import { startOverview } from "./overview.js";
import { retainedPage } from "./retained.js";
import { tenantsPage } from "./tenants.js";
import { tryItPage } from "./try-it.js";

const $ = (id) => document.getElementById(id);
let stop;

// Shows an error; `from` says what raised it, so that a later success of the same thing clears it.
function showError(id, e, from = "") {
  const p = $(id);
  p.textContent = e.message;
  p.dataset.from = from;
  p.hidden = false;
}

function signedOut(message) {
  stop?.();
  forgetToken();
  $("app").hidden = true;
  $("who").hidden = $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("token").focus();
  if (message) showError("sign-in-error", { message });
}

function signedIn(stats) {
  const session = {
    account: stats.account_id ?? "default",
    role: stats.token.role,
    allNamespaces: stats.token.namespaces === "*",
    error: (e, from = "action") => (e.status === 401 ? signedOut(e.message) : showError("app-error", e, from)),
  };
  $("sign-in").hidden = true;
  $("sign-in-error").hidden = true;
  $("app").hidden = false;
  document.body.dataset.role = session.role;
  const scope = stats.token.namespaces === "*" ? "all namespaces" : stats.token.namespaces.join(", ");
  $("who").textContent = `${session.role} · ${scope}`;
  $("who").hidden = $("sign-out").hidden = false;
  // The keyboard goes on from the nav, not from the hidden sign-in form.
  document.querySelector("nav button").focus();
  const clients = clientsPage(session);
  const tenants = tenantsPage(session);
  const retained = retainedPage(session);
  tryItPage();
  let tab = "overview";
  for (const button of document.querySelectorAll("nav button")) {
    button.onclick = () => {
      tab = button.dataset.tab;
      for (const b of document.querySelectorAll("nav button")) b.toggleAttribute("aria-current", b === button);
      for (const id of ["overview", "clients", "retained", "tenants", "try-it"]) $(id).hidden = tab !== id;
      if (tab === "retained") void retained.show();
      if (tab === "clients") void clients.show();
      if (tab === "tenants") void tenants.show();
    };
  }
  stop = startOverview(() => {
    // A poll that works again clears the poll's own error, never one a user's action raised.
    if ($("app-error").dataset.from === "poll") $("app-error").hidden = true;
    if (tab === "clients") void clients.refresh();
  }, (e) => session.error(e, "poll"));
}

// A token is checked with GET /stats, which also names its role and scope.
async function signIn(t) {
  try {
    const stats = await call("GET", "/stats", t);
    keepToken(t);
    signedIn(stats);
  } catch (e) {
    signedOut(e.message);
  }
}

$("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  void signIn($("token").value.trim());
});
$("sign-out").addEventListener("click", () => signedOut());
if (token() !== null) void signIn(token());
