import { ConfigError } from "./config-error.ts";
import type { ServerConfig } from "./config-types.ts";

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * Refuses a configuration that would let anyone on the network connect
 * without having asked for it: anonymous access is the zero-config default
 * only on loopback, so a broker reachable from the network must have
 * credentials or say it wants none.
 */
export function checkExposure(config: ServerConfig): void {
  if (!config.allowAnonymous || config.allowAnonymousExplicit) return;
  const exposed = config.listeners.filter((l) => !isLoopback(l.host));
  if (exposed.length === 0) return;
  const where = exposed.map((l) => `${l.host}:${l.port}`).join(", ");
  throw new ConfigError(
    `refusing to listen on ${where} with no authentication: anyone who can reach it could connect. ` +
    `Add users (--user name:password or "users" in the config file), or pass --allow-anonymous if open access is what you want.`,
  );
}
