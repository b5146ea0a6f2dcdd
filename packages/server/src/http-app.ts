import { Hono } from "hono";
import { type AdminBindings, adminSecurityHeaders, authenticateApiToken, AuthFailureLimiter, ErrorCode, failure } from "@edgemq/admin";
import type { Registry } from "@edgemq/tenancy";
import { type MetricsScope, type MetricsSources, renderMetrics } from "./metrics.ts";

/** What the server's HTTP listener serves besides the admin API. */
export interface HttpAppOptions {
  registry: Registry;
  metrics: MetricsSources;
  /** Whether the server takes traffic: listeners bound, store open, not shutting down. */
  ready(): boolean;
  /** Serve /metrics without an API token (for a scraper on a private network). */
  metricsPublic: boolean;
  /** Failed token checks per client address, shared with the admin API. */
  authFailures?: AuthFailureLimiter;
}

/**
 * The admin listener's whole HTTP surface: `/healthz` (the process answers),
 * `/readyz` (it takes traffic; 503 while starting or shutting down),
 * `/metrics` (Prometheus text, behind any API token: one scoped to some
 * namespaces sees only their brokers' series; the default broker, the
 * process and the server are shown to all-namespace tokens only) and the admin API.
 */
export function createHttpApp(admin: { fetch: (request: Request, peer?: AdminBindings) => Response | Promise<Response> }, options: HttpAppOptions): Hono<{ Bindings: AdminBindings | undefined }> {
  const app = new Hono<{ Bindings: AdminBindings | undefined }>();
  const limiter = options.authFailures ?? new AuthFailureLimiter();
  // /healthz, /readyz and /metrics get the admin API's headers too.
  app.use("*", adminSecurityHeaders());
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200));
  app.get("/readyz", (c) => (options.ready() ? c.json({ status: "ready" }, 200) : c.json({ status: "not ready" }, 503)));
  app.get("/metrics", async (c) => {
    let scope: MetricsScope = "*";
    if (!options.metricsPublic) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
      const token = m ? await authenticateApiToken(options.registry, m[1]!) : undefined;
      if (token === undefined) {
        const wait = limiter.failed(c.env?.remoteAddress ?? "");
        if (wait > 0) return c.json(failure(ErrorCode.RateLimited, `too many failed API token checks from this address: wait ${wait} s (Retry-After), then send a valid token`), 429, { "Retry-After": String(wait) });
        return c.text("metrics need an API token: send Authorization: Bearer <token> (any role), or start edgemq with --metrics-public\n", 401);
      }
      scope = token.namespaces;
    }
    return c.body(renderMetrics(options.metrics, scope), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  // The runtime's peer address goes on as the admin app's env, never as a header a client could send.
  app.all("*", (c) => admin.fetch(c.req.raw, c.env));
  return app;
}
