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

/** An optional whole-number query parameter. */
export function intParam(params: URLSearchParams, name: string, rule: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d{1,15}$/.test(v.trim())) throw invalid(`${name} must be ${rule}, not ${JSON.stringify(v)}`);
  return Number(v.trim());
}

/** Items per page of a paginated list when `per_page` is not given. */
export const DEFAULT_PER_PAGE = 100;
/** Most items per page of a paginated list. */
export const MAX_PER_PAGE = 1000;

/** The `page` (from 1) and `per_page` (1 to {@link MAX_PER_PAGE}) query parameters, as Cloudflare's list routes take them. */
export function pageParams(params: URLSearchParams): { page: number; per_page: number } {
  const page = intParam(params, "page", "a whole number of at least 1 (the first page is 1)") ?? 1;
  if (page < 1) throw invalid(`page must be a whole number of at least 1 (the first page is 1), not ${page}`);
  const per_page = intParam(params, "per_page", `a whole number from 1 to ${MAX_PER_PAGE}`) ?? DEFAULT_PER_PAGE;
  if (per_page < 1 || per_page > MAX_PER_PAGE) throw invalid(`per_page must be a whole number from 1 to ${MAX_PER_PAGE}, not ${per_page}`);
  return { page, per_page };
}

/** One page of `items`, and Cloudflare's `result_info` for it; a page past the end is empty. */
export function paginate<T>(items: readonly T[], { page, per_page }: { page: number; per_page: number }): { items: T[]; result_info: ResultInfo } {
  const slice = items.slice((page - 1) * per_page, page * per_page);
  return {
    items: slice,
    result_info: { page, per_page, count: slice.length, total_count: items.length, total_pages: Math.ceil(items.length / per_page) },
  };
}

/** An optional boolean query parameter: `true` or `false` (also 1 or 0). */
export function boolParam(params: URLSearchParams, name: string): boolean | undefined {
  const v = params.get(name);
  if (v === null || v === "") return undefined;
  const t = v.trim().toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  throw invalid(`${name} must be true or false, not ${JSON.stringify(v)}`);
}
