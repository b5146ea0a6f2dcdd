import { invalid, type ResultInfo } from "./envelope.ts";

/**
 * The `topicAcl` query parameter. Form decoding turns `+` into a space,
 * which would silently change `sub:a/+/b` typed into a curl line; so a
 * literal `+` that fills a topic level (after `/`, `:`, `,` or at the start,
 * and before `/`, `,` or the end) stays the `+` wildcard, and any other
 * literal `+` is a space as usual. `%2B` is always `+`, `%20` always a space,
 * so URLSearchParams-encoded values (which encode both) read as they were meant.
 */
export function topicAclParam(search: string): string | undefined {
  return filterParam(search, "topicAcl");
}

/**
 * A query parameter that holds a topic filter or topic (`?topic=a/+/b`),
 * read as {@link topicAclParam} reads `topicAcl`: a literal `+` filling a
 * topic level is the wildcard, not a space. The first occurrence counts.
 */
export function filterParam(search: string, wanted: string): string | undefined {
  for (const pair of search.replace(/^\?/, "").split("&")) {
    const eq = pair.indexOf("=");
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (decode(name.replaceAll("+", " "), "a query parameter name") !== wanted) continue;
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
    return decode(out, wanted);
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

/** Items per page of a paginated list when `per_page` is not given. */
export const DEFAULT_PER_PAGE = 100;
/** Most items per page of a paginated list. */
export const MAX_PER_PAGE = 1000;

/** One page of `items`, and Cloudflare's `result_info` for it; a page past the end is empty. */
export function paginate<T>(items: readonly T[], { page, per_page }: { page: number; per_page: number }): { items: T[]; result_info: ResultInfo } {
  const slice = items.slice((page - 1) * per_page, page * per_page);
  return {
    items: slice,
    result_info: { page, per_page, count: slice.length, total_count: items.length, total_pages: Math.ceil(items.length / per_page) },
  };
}
