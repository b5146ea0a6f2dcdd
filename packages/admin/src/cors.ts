import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/** The methods the admin API serves, as a CORS preflight allows them. */
export const CORS_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE"] as const;

/**
 * CORS for the named browser origins (`https://console.example.com`), or for
 * any with `*`; undefined when none are given, so that no CORS header is sent
 * at all. A preflight is answered for those origins with the API's methods
 * and the Authorization and Content-Type headers, `Vary: Origin` tells caches
 * the answer depends on the origin, and credentials are allowed only for
 * named origins (browsers refuse them with `*`).
 */
export function adminCors(origins: readonly string[] | undefined): MiddlewareHandler | undefined {
  if (origins === undefined || origins.length === 0) return undefined;
  const any = origins.includes("*");
  return cors({
    origin: any ? "*" : [...origins],
    allowMethods: [...CORS_METHODS],
    allowHeaders: ["Authorization", "Content-Type"],
    exposeHeaders: ["Allow", "Retry-After", "WWW-Authenticate"],
    credentials: !any,
    maxAge: 600,
  });
}
