import { lookup } from "node:dns/promises";
import type { JWK } from "jose";
import type { HookMessage, OnPublishHandler } from "@edgemq/core";
import { HookDestinations } from "@edgemq/tenancy";
import { decodeHookReply, encodeHookBatch, HookReplyError } from "./hook-json.ts";
import { signHookRequest } from "./hook-signing.ts";

/** How long an on-publish hook has to answer, as Cloudflare allowed: 10 s. */
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;

/** Where and how a broker posts its messages. */
export interface HttpHookOptions {
  url: string;
  /** The broker's FQDN, `<broker>.<namespace>.<domain>`, put in each message's `broker`. */
  broker: string;
  /** The private key that signs (the broker's current key), read at each call so a rotation applies at once. */
  signingKey(): JWK;
  /** Default {@link DEFAULT_HOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Called after each call with its duration and whether it failed. */
  observe?(ms: number, failed: boolean): void;
  fetch?: typeof fetch;
  /** Where the hook may post; loopback, private, link-local and metadata destinations are refused when absent. */
  destinations?: HookDestinations;
  /** Resolves a host name to every address it has (default: node:dns lookup, as the runtime's fetch would). */
  resolve?(host: string): Promise<string[]>;
}

/** Every address a name resolves to, through node:dns (Node, Bun and Deno alike). */
async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * Throws HookCallError if the URL's destination is refused: a literal address
 * is checked as it is, a name by every address it resolves to now (it may
 * resolve elsewhere than when the URL was set), unless the operator allowed
 * the name itself. fetch resolves the name again: a name whose answers change
 * between the two lookups (DNS rebinding) is not caught here.
 */
async function checkDestination(url: string, destinations: HookDestinations, resolve: (host: string) => Promise<string[]>): Promise<void> {
  const early = destinations.refusalOfUrl(url);
  if (early !== undefined) throw new HookCallError(`refused to post to ${url}: ${early}`);
  const host = new URL(url).hostname;
  if (destinations.allowsName(url) || host.startsWith("[") || /^[\d.]+$/.test(host)) return; // an allowed name, or a literal address checked above
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (e) {
    throw new HookCallError(`cannot resolve ${host}: ${(e as Error).message}`);
  }
  for (const address of addresses) {
    const refused = destinations.refusalOfAddress(address, host);
    if (refused !== undefined) throw new HookCallError(`refused to post to ${url}: ${refused}`);
  }
}

/** Why a call failed: the batch is dropped (or delivered, failing open). */
export class HookCallError extends Error {
  override name = "HookCallError";
}

/**
 * An on-publish handler that POSTs each batch as a signed JSON array and
 * takes the reply (HTTP 200, a JSON array) as the messages to deliver. A
 * non-200 status, an invalid body or no answer within the timeout throws.
 */
export function httpPublishHook(options: HttpHookOptions): OnPublishHandler {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  const destinations = options.destinations ?? new HookDestinations();
  const resolve = options.resolve ?? resolveAll;
  return async (messages: HookMessage[]) => {
    const started = performance.now();
    let failed = true;
    try {
      await checkDestination(options.url, destinations, resolve);
      for (const m of messages) m.broker = options.broker;
      const body = encodeHookBatch(messages);
      const signature = await signHookRequest(options.signingKey(), body, Math.floor(Date.now() / 1000));
      // One deadline for the whole exchange, reading the body included.
      const signal = AbortSignal.timeout(timeoutMs);
      let text: string;
      let status: number;
      try {
        const response = await doFetch(options.url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "edgemq", ...signature },
          body,
          signal,
          redirect: "manual",
        });
        status = response.status;
        text = await response.text();
      } catch (e) {
        if (signal.aborted) throw new HookCallError(`no reply within ${timeoutMs} ms`);
        throw new HookCallError(`the request failed: ${(e as Error).message}`);
      }
      if (status !== 200) throw new HookCallError(`the reply's status is ${status}, not 200`);
      const reply = decodeHookReply(text);
      failed = false;
      return reply;
    } catch (e) {
      if (e instanceof HookReplyError) throw new HookCallError(e.message);
      throw e;
    } finally {
      options.observe?.(performance.now() - started, failed);
    }
  };
}
