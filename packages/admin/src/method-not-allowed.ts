// Which methods a path takes, so that a wrong method on a known path is told
// 405 with `Allow` (RFC 9110 §15.5.6) instead of 404 as if the path did not exist.

/** A route as hono lists it (`app.routes`). */
export interface RouteEntry {
  method: string;
  path: string;
}

function pattern(path: string): RegExp {
  const source = path.split("/").map((part) => {
    if (part.startsWith(":")) return "[^/]+";
    if (part === "*") return ".*";
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${source}$`);
}

/**
 * The methods the routes serve at `pathname`, sorted, HEAD beside GET (hono
 * answers HEAD with the GET route); empty when no route has that path.
 */
export function allowedMethods(routes: readonly RouteEntry[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    if (r.method === "ALL" || !pattern(r.path).test(pathname)) continue;
    methods.add(r.method);
    if (r.method === "GET") methods.add("HEAD");
  }
  return [...methods].sort();
}
