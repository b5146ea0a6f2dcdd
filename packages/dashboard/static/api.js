// The admin API as the page calls it: every request carries the signed-in
// token, kept only in this tab's sessionStorage.
const KEY = "edgemq.token";

/** The signed-in token, if any. */
export const token = () => sessionStorage.getItem(KEY);
/** Keeps the token for this tab's session only. */
export const keepToken = (t) => sessionStorage.setItem(KEY, t);
/** Forgets the token. */
export const forgetToken = () => sessionStorage.removeItem(KEY);

/** An answer the page shows as an error: the status and what the server said. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// What a refusal means to the person at the keyboard.
function explain(status, body, retryAfter) {
  if (status === 401) return "The server does not know this token (401): check that you pasted a whole admin API token, emq_…";
  if (status === 429) return `Too many failed token checks from this address (429): wait ${retryAfter ?? 10} s, then sign in with a valid token.`;
  if (status === 403) return `This token may not do that (403): ${body}`;
  return `${status}: ${body}`;
}

/** Sends a request with the token (and a JSON body, if given); resolves to the parsed JSON, or throws an ApiError. */
export async function call(method, path, t = token(), body = undefined) {
  const headers = { authorization: `Bearer ${t}`, ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  if (!res.ok) {
    const said = json?.errors?.map((e) => e.message).join("; ") ?? text.trim();
    const error = new ApiError(res.status, explain(res.status, said, res.headers.get("retry-after")));
    // Every problem the API found, one by one, for a form to list next to itself.
    error.problems = json?.errors?.map((e) => e.message) ?? [];
    throw error;
  }
  return json;
}

/** Sends a JSON body with the signed-in token. */
export const send = (method, path, body) => call(method, path, token(), body);

/** What a role may change, as the admin API's roles decide (the API refuses the rest anyway). */
export const may = (role) => ({ namespaces: role === "Admin", brokers: role === "Admin" || role === "User", retained: role === "Admin" || role === "User" });

/** The admin API's base path for an account. */
export const apiBase = (account) => `/client/v4/accounts/${encodeURIComponent(account)}/pubsub`;

/** Every page of a list: the admin API answers at most 1000 items a page. */
export async function all(path) {
  const items = [];
  for (let page = 1; ; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const json = await call("GET", `${path}${sep}page=${page}&per_page=1000`);
    items.push(...json.result);
    if (page >= (json.result_info?.total_pages ?? 1)) return items;
  }
}
