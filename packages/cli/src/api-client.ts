import type { ParsedArgs } from "./parsed-args.ts";
import { type ApiSettings, apiSettings } from "./api-flags.ts";
import { CliError } from "./errors.ts";

/** Where a page of a list sits, as the API reports it beside `result`. */
export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

/** A successful answer: the envelope's `result`, and `result_info` on paginated lists. */
export interface ApiAnswer<T> {
  result: T;
  result_info?: ResultInfo;
}

/** Query parameters; a list repeats the parameter (`?jti=A&jti=B`), undefined leaves it out. */
export type Query = Record<string, string | number | readonly string[] | undefined>;

/** A path under the API base from names, each percent-encoded: `path("namespaces", ns)`. */
export function apiPath(...parts: string[]): string {
  return parts.map((p) => `/${encodeURIComponent(p)}`).join("");
}

interface Envelope {
  result: unknown;
  success: boolean;
  errors?: { code?: number; message?: string }[];
  result_info?: ResultInfo;
}

function isEnvelope(v: unknown): v is Envelope {
  return typeof v === "object" && v !== null && typeof (v as Envelope).success === "boolean" && "result" in v;
}

/** Cloudflare-style admin API calls, with every failure turned into a one-line {@link CliError}. */
export class ApiClient {
  readonly settings: ApiSettings;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(settings: ApiSettings, fetchImpl: typeof fetch = fetch, timeoutMs = 30_000) {
    this.settings = settings;
    this.#fetch = fetchImpl;
    this.#timeoutMs = timeoutMs;
  }

  /** Calls `method path` and resolves to the envelope's result; throws a CliError with the API's message otherwise. */
  async call<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<ApiAnswer<T>> {
    const url = new URL(this.settings.base + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      for (const v of typeof value === "object" ? value : [value]) url.searchParams.append(name, String(v));
    }
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          accept: "application/json",
          ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (e) {
      throw new CliError(this.#unreachable(e));
    }
    const text = await response.text().catch(() => "");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!isEnvelope(body)) {
      const type = response.headers.get("content-type") ?? "no content type";
      throw new CliError(`${this.settings.origin} answered HTTP ${response.status} (${type}) without the admin API's JSON envelope: check that --url points at edgemq's admin API (the port given to --admin-port)`);
    }
    if (!response.ok || !body.success) {
      const message = (body.errors ?? []).map((e) => e.message).filter(Boolean).join("; ") || "the request failed";
      throw new CliError(`${message} (HTTP ${response.status}${hint(response.status, body.errors?.[0]?.code, message)})`);
    }
    return { result: body.result as T, ...(body.result_info !== undefined ? { result_info: body.result_info } : {}) };
  }

  /** The `result` of a call. */
  async result<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    return (await this.call<T>(method, path, options)).result;
  }

  /** Every item of a paginated list, page after page. */
  async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      const { result, result_info } = await this.call<T[]>("GET", path, { query: { ...query, page, per_page: 1000 } });
      items.push(...result);
      if (result_info === undefined || page >= result_info.total_pages) return items;
    }
  }

  #unreachable(e: unknown): string {
    const where = `the admin API at ${this.settings.origin}`;
    const name = (e as { name?: string }).name;
    if (name === "TimeoutError" || name === "AbortError") return `${where} did not answer within ${this.#timeoutMs / 1000} s: is the server overloaded, or is --url pointing at something else?`;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (e as { code?: string }).code ?? "";
    const detail = cause?.message ?? (e as Error).message ?? String(e);
    if (code === "ECONNREFUSED") return `cannot reach ${where} (connection refused): is the server running with --admin-port ${this.settings.port}? Check --url or EDGEMQ_API_URL`;
    if (detail === "bad port") return `cannot reach ${where}: fetch refuses port ${this.settings.port} (one of the ports browsers block); serve the admin API on another --admin-port`;
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `cannot reach ${where} (host not found): check the host name in --url or EDGEMQ_API_URL`;
    if (code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code.startsWith("HPE_")) {
      return `${where} closed the connection without an HTTP answer: is that the MQTT port? --url needs the admin API's port (the server's --admin-port)`;
    }
    if (/certificate|self.signed|SSL|TLS/i.test(`${code} ${detail}`)) return `cannot reach ${where}: TLS failed (${detail}); use the URL the server's certificate is for, or http:// for a plain listener`;
    return `cannot reach ${where}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ""}`;
  }
}

// What to do about a refusal, beyond the API's own message.
function hint(status: number, code: number | undefined, message: string): string {
  if (status === 401) return "; check --token or EDGEMQ_API_TOKEN";
  if (status === 403) return "; use an API token whose role and namespaces allow this, or create one with edgemq token create";
  if (status === 404 && /account/i.test(message)) return "; check --account-id or EDGEMQ_ACCOUNT_ID";
  if (status === 404 && code === 7000) return "; this server has no such route: check that --url is edgemq's admin API and the server is up to date";
  return "";
}

/** A client for the API named by a command's flags and the environment. */
export function apiFor(input: ParsedArgs, env: Record<string, string | undefined>): ApiClient {
  return new ApiClient(apiSettings(input, env));
}
