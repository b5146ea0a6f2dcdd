import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { readAssets } from "./assets.ts";

/** The paths the dashboard answers: mount each of them on the admin listener. */
export const DASHBOARD_PATHS = ["/", "/dashboard/*"] as const;

/**
 * The dashboard as a hono app: `/` is its page, `/dashboard/<file>` its script
 * and styles. It holds no data and no token: the page signs in with an admin
 * API token kept in the browser's sessionStorage and does everything through
 * the admin API, so it can do nothing the API would refuse.
 */
export function createDashboardApp(): Hono {
  const assets = readAssets();
  const app = new Hono();
  // Only the server's own files: no inline script or style, no other origin, no framing. The one
  // exception is WebSockets, to any host: the "Try it" client connects to a broker's WebSocket
  // listener at a URL the user types, which may sit behind another host name or a proxy. That lets
  // a script send data out only over ws:/wss:, and only a script of this server runs here.
  app.use("*", secureHeaders({
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    xContentTypeOptions: true,
    contentSecurityPolicy: {
      defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'"], connectSrc: ["'self'", "ws:", "wss:"],
      objectSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"],
    },
  }));
  const serve = (name: string) => {
    const asset = assets.get(name);
    // The page and its files change with the server's version, never while it runs; a short cache is enough.
    return asset === undefined ? undefined : new Response(asset.body as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-type": asset.type, "cache-control": "no-cache" } });
  };
  app.get("/", () => serve("index.html")!);
  app.get("/dashboard/:file", (c) => serve(c.req.param("file")) ?? c.text("no such dashboard file\n", 404));
  return app;
}
