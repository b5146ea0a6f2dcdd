/**
 * What went wrong, as a kind the admin API maps to an HTTP status:
 * `invalid` (400), `not_found` (404), `conflict` (a name in use, 400 as
 * Cloudflare answered), `not_empty` (409), `limit` (400), `unsupported` (400),
 * `unavailable` (503: the store cannot take a change now, e.g. a cluster cut off from NATS).
 */
export type TenancyErrorKind = "invalid" | "not_found" | "conflict" | "not_empty" | "limit" | "unsupported" | "unavailable";

/** A refused tenancy operation, with a message meant for the person who asked. */
export class TenancyError extends Error {
  readonly kind: TenancyErrorKind;
  constructor(kind: TenancyErrorKind, message: string) {
    super(message);
    this.name = "TenancyError";
    this.kind = kind;
  }
}
