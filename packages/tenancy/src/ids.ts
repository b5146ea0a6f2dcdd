/** A new id as Cloudflare Pub/Sub formed them: 32 lowercase hex characters (128 random bits). */
export function newId(): string {
  let out = "";
  for (const b of crypto.getRandomValues(new Uint8Array(16))) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * A time (ms since the epoch) as Cloudflare wrote `created_on` and
 * `modified_on`: RFC 3339 in UTC with microseconds, `2022-05-11T23:13:08.383000Z`.
 */
export function timestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}
