import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The security headers of every admin API response, errors included: no MIME
 * sniffing, no framing, no referrer, and a Content-Security-Policy that lets a
 * JSON answer load nothing at all (it is never a page).
 */
export function adminSecurityHeaders(): MiddlewareHandler {
  return secureHeaders({
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    xContentTypeOptions: true,
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
  });
}
