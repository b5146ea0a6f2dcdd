// The tenant brokers a token sees, as the options of a <select> (value
// "namespace/broker"), for the pages that work on one broker.
import { all, apiBase } from "./api.js";

/** Fills `select` with every tenant broker the token sees, keeping the choice if it is still there. */
export async function fillBrokerSelect(select, account) {
  const options = [];
  // Tenant brokers only: the default broker has no path in the admin API.
  for (const ns of await all(`${apiBase(account)}/namespaces`)) {
    for (const b of await all(`${apiBase(account)}/namespaces/${encodeURIComponent(ns.name)}/brokers`)) {
      options.push(new Option(`${b.name}.${ns.name}`, `${ns.name}/${b.name}`));
    }
  }
  const chosen = select.value;
  select.replaceChildren(...options);
  if (options.some((o) => o.value === chosen)) select.value = chosen;
}

/** The admin API path of the broker a select names. */
export function selectedBrokerPath(select, account) {
  const [ns, broker] = select.value.split("/");
  return `${apiBase(account)}/namespaces/${encodeURIComponent(ns)}/brokers/${encodeURIComponent(broker)}`;
}
