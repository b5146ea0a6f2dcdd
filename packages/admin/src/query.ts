import { invalid } from "./envelope.ts";

/**
 * The `topicAcl` query parameter. Form decoding turns `+` into a space,
 * which would silently change `sub:a/+/b` typed into a curl line; so a
 * literal `+` that fills a topic level (after `/`, `:`, `,` or at the start,
 * and before `/`, `,` or the end) stays the `+` wildcard, and any other
 * literal `+` is a space as usual. `%2B` is always `+`, `%20` always a space,
 * so URLSearchParams-encoded values (which encode both) read as they were meant.
 */
export function topicAclParam(search: string): string | undefined {
  for (const pair of search.replace(/^\?/, "").split("&")) {
    const eq = pair.indexOf("=");
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (decode(name.replaceAll("+", " "), "a query parameter name") !== "topicAcl") continue;
    const raw = eq === -1 ? "" : pair.slice(eq + 1);
    let out = "";
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i]!;
      if (ch !== "+") {
        out += ch;
        continue;
      }
      const prev = raw[i - 1], next = raw[i + 1];
      const fillsLevel = (prev === undefined || "/:,".includes(prev)) && (next === undefined || "/,".includes(next));
      out += fillsLevel ? "%2B" : "%20";
    }
    return decode(out, "topicAcl");
  }
  return undefined;
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`${what} is not valid percent-encoding`);
  }
}

/** `jti` values, repeated (`?jti=A&jti=B`, as wrangler sends them) or comma-joined (`?jti=A,B`, as denoflare does), or both. */
export function jtiParams(params: URLSearchParams): string[] {
  const jtis = params.getAll("jti").flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (jtis.length === 0) throw invalid("give the credentials by jti: ?jti=A&jti=B or ?jti=A,B");
  return jtis;
}

/** An optional whole-number query parameter. */
export function intParam(params: URLSearchParams, name: string, rule: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d{1,15}$/.test(v.trim())) throw invalid(`${name} must be ${rule}, not ${JSON.stringify(v)}`);
  return Number(v.trim());
}
