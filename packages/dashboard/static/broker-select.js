// The brokers a token sees, as the options of a <select> (value
// "namespace/broker", or "default" for the default broker), for the pages that work on one broker.
import { all, apiBase } from "./api.js";

/** The value that names the default broker in a broker select. */
export const DEFAULT_BROKER = "default";

/** Whether a signed-in session may use the default broker's paths: an Admin token for every namespace (it belongs to no tenant). */
export const seesDefault = (session) => session.role === "Admin" && session.allNamespaces;

/** Fills `select` with every broker the session sees, keeping the choice if it is still there. */
export async function fillBrokerSelect(select, session) {
  const options = [];
  for (const ns of await all(`${apiBase(session.account)}/namespaces`)) {
    for (const b of await all(`${apiBase(session.account)}/namespaces/${encodeURIComponent(ns.name)}/brokers`)) {
      options.push(new Option(`${b.name}.${ns.name}`, `${ns.name}/${b.name}`));
    }
  }
  // Last, so that a tenant broker stays the first choice.
  if (seesDefault(session)) options.push(new Option("default (clients without a tenant credential)", DEFAULT_BROKER));
  const chosen = select.value;
  select.replaceChildren(...options);
  if (options.some((o) => o.value === chosen)) select.value = chosen;
}

/** The admin API path of the broker a select names. */
export function selectedBrokerPath(select, account) {
  if (select.value === DEFAULT_BROKER) return `${apiBase(account)}/default`;
  const [ns, broker] = select.value.split("/");
  return `${apiBase(account)}/namespaces/${encodeURIComponent(ns)}/brokers/${encodeURIComponent(broker)}`;
}
