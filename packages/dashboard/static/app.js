// The dashboard's entry: sign-in with an admin API token (kept in
// sessionStorage only), then the overview and clients pages.
import { call, forgetToken, keepToken, token } from "./api.js";
import { clientsPage } from "./clients.js";
import { startOverview } from "./overview.js";

const $ = (id) => document.getElementById(id);
let stop;

function showError(id, e) {
  const p = $(id);
  p.textContent = e.message;
  p.hidden = false;
}

function signedOut(message) {
  stop?.();
  forgetToken();
  $("app").hidden = true;
  $("who").hidden = $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  if (message) showError("sign-in-error", { message });
}

function signedIn(stats) {
  const session = {
    account: stats.account_id ?? "default",
    role: stats.token.role,
    error: (e) => (e.status === 401 ? signedOut(e.message) : showError("app-error", e)),
  };
  $("sign-in").hidden = true;
  $("sign-in-error").hidden = true;
  $("app").hidden = false;
  document.body.dataset.role = session.role;
  const scope = stats.token.namespaces === "*" ? "all namespaces" : stats.token.namespaces.join(", ");
  $("who").textContent = `${session.role} · ${scope}`;
  $("who").hidden = $("sign-out").hidden = false;
  const clients = clientsPage(session);
  let tab = "overview";
  for (const button of document.querySelectorAll("nav button")) {
    button.onclick = () => {
      tab = button.dataset.tab;
      for (const b of document.querySelectorAll("nav button")) b.toggleAttribute("aria-current", b === button);
      $("overview").hidden = tab !== "overview";
      $("clients").hidden = tab !== "clients";
      if (tab === "clients") void clients.show();
    };
  }
  stop = startOverview(() => {
    $("app-error").hidden = true;
    if (tab === "clients") void clients.refresh();
  }, session.error);
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
