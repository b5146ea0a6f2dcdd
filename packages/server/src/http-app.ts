import { type Context, Hono } from "hono";
import { type AdminBindings, adminSecurityHeaders, authenticateApiToken, AuthFailureLimiter, ErrorCode, failure } from "@edgemq/admin";
import type { ApiTokenRecord, Registry } from "@edgemq/tenancy";
import { type MetricsScope, type MetricsSources, renderMetrics } from "./metrics.ts";
import { brokerStats, type ServerFacts } from "./stats.ts";

/** A web app served on the admin listener, as hono apps are: a fetch function. */
export interface FetchApp {
  fetch(request: Request, peer?: AdminBindings): Response | Promise<Response>;
}

/** What the server's HTTP listener serves besides the admin API. */
export interface HttpAppOptions {
  registry: Registry;
  metrics: MetricsSources;
  /** Whether the server takes traffic: listeners bound, store open, not shutting down. */
  ready(): boolean;
  /** Why the server, up, takes no traffic now (a clustered node cut off from NATS); undefined when it does. */
  unready?(): string | undefined;
  /** Serve /metrics without an API token (for a scraper on a private network). */
  metricsPublic: boolean;
  /** Failed token checks per client address, shared with the admin API. */
  authFailures?: AuthFailureLimiter;
  /** The only account id the admin API serves, if one is configured (the dashboard's API paths use it). */
  accountId?: string;
  /** The store's mode and the cluster, for /stats. */
  facts?: ServerFacts;
  /** The web dashboard, served at `/` and `/dashboard/*` (none: those paths are the API's 404s). */
  dashboard?: { app: FetchApp; paths: readonly string[] };
}

type HttpEnv = { Bindings: AdminBindings | undefined };

/**
 * The admin listener's whole HTTP surface: `/healthz` (the process answers),
 * `/readyz` (it takes traffic; 503 while starting or shutting down, or,
 * with a reason, while a clustered node is cut off from NATS),
 * `/metrics` (Prometheus text, behind any API token: one scoped to some
 * namespaces sees only their brokers' series; the default broker, the
 * process and the server are shown to all-namespace tokens only), `/stats`
 * (the brokers' figures as JSON for the dashboard, under the same rule),
 * the dashboard and the admin API.
 */
export function createHttpApp(admin: FetchApp, options: HttpAppOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const limiter = options.authFailures ?? new AuthFailureLimiter();
  // The dashboard's routes come first: they answer with their own headers (a CSP that lets the page load its own files).
  const dashboard = options.dashboard;
  if (dashboard !== undefined) for (const path of dashboard.paths) app.get(path, (c) => dashboard.app.fetch(c.req.raw, c.env));
  // /healthz, /readyz, /metrics and /stats get the admin API's headers too.
  app.use("*", adminSecurityHeaders());
  // The token a request carries, or the answer refusing it (counted against its address, as the API counts).
  const tokenOf = async (c: Context<HttpEnv>, what: string): Promise<ApiTokenRecord | Response> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    const token = m ? await authenticateApiToken(options.registry, m[1]!) : undefined;
    if (token !== undefined) return token;
    const wait = limiter.failed(c.env?.remoteAddress ?? "");
    if (wait > 0) return c.json(failure(ErrorCode.RateLimited, `too many failed API token checks from this address: wait ${wait} s (Retry-After), then send a valid token`), 429, { "Retry-After": String(wait) });
    return c.text(`${what} need an API token: send Authorization: Bearer <token> (any role)${what === "metrics" ? ", or start edgemq with --metrics-public" : ""}\n`, 401);
  };
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200));
  app.get("/readyz", (c) => {
    if (!options.ready()) return c.json({ status: "not ready" }, 503);
    const reason = options.unready?.();
    return reason === undefined ? c.json({ status: "ready" }, 200) : c.json({ status: "not ready", reason }, 503);
  });
  app.get("/metrics", async (c) => {
    let scope: MetricsScope = "*";
    if (!options.metricsPublic) {
      const token = await tokenOf(c, "metrics");
      if (token instanceof Response) return token;
      scope = token.namespaces;
    }
    return c.body(renderMetrics(options.metrics, scope), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  // Always behind a token, --metrics-public or not: the answer names the token's role for the dashboard.
  app.get("/stats", async (c) => {
    const token = await tokenOf(c, "stats");
    return token instanceof Response ? token : c.json(brokerStats(options.metrics, token, options.accountId, Date.now(), options.facts), 200, { "cache-control": "no-store" });
  });
  // The runtime's peer address goes on as the admin app's env, never as a header a client could send.
  app.all("*", (c) => admin.fetch(c.req.raw, c.env));
  return app;
}
