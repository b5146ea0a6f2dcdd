/** One error or message in the envelope, as Cloudflare's API gives them. */
export interface ApiMessage {
  code: number;
  message: string;
}

/** Where a page of a paginated list sits, as Cloudflare's API reports it beside `result`. */
export interface ResultInfo {
  /** The page given (1 is the first). */
  page: number;
  /** The most items a page holds. */
  per_page: number;
  /** The items on this page. */
  count: number;
  /** The items on all pages. */
  total_count: number;
  /** The number of pages (0 when there are no items). */
  total_pages: number;
}

/** Cloudflare's response envelope, used by every response of the admin API. */
export interface Envelope<T = unknown> {
  result: T | null;
  success: boolean;
  errors: ApiMessage[];
  messages: ApiMessage[];
  /** Only on paginated lists. */
  result_info?: ResultInfo;
}

/**
 * The `code` of each error. Cloudflare's own codes for Pub/Sub were never
 * published (UNCONFIRMED); 10000 ("Authentication error") and 7000 ("No route
 * for that URI") are the codes Cloudflare's API uses generally, the rest are edgemq's.
 */
export const ErrorCode = {
  /** 500: something broke on the server. */
  Internal: 1000,
  /** 400: a body, a query parameter or a name is not valid. */
  Invalid: 1001,
  /** 404: no such namespace, broker, token or account. */
  NotFound: 1004,
  /** 400: the name is taken (Cloudflare answered 400 here), or the last Admin token would be deleted. */
  Conflict: 1009,
  /** 409: the namespace still has brokers. */
  NotEmpty: 1010,
  /** 400: the request asks for something this server does not offer (an auth type, a credential type). */
  Unsupported: 1015,
  /** 413: the body is too large. */
  TooLarge: 1013,
  /** 400: a limit is reached (namespaces, brokers, revocations). */
  Limit: 1029,
  /** 503: the tenancy store cannot take a change now (a clustered node cut off from NATS); try again. */
  Unavailable: 1503,
  /** 404: no route for that path. */
  NoRoute: 7000,
  /** 405: the path exists, but not with that method (the `Allow` header lists those it takes). */
  MethodNotAllowed: 7001,
  /** 401: no API token, or not a valid one. */
  Authentication: 10000,
  /** 403: the token's role or namespace scope does not allow this. */
  Forbidden: 10001,
  /** 429: too many failed API token checks from one address (971 is Cloudflare's "please wait" code). */
  RateLimited: 971,
} as const;

/** An error to answer with: an HTTP status and an envelope error. */
export class ApiError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 500;
  readonly code: number;
  constructor(status: ApiError["status"], code: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** A success envelope; `result_info` for a page of a paginated list. */
export function success<T>(result: T, result_info?: ResultInfo): Envelope<T> {
  const envelope: Envelope<T> = { result, success: true, errors: [], messages: [] };
  if (result_info !== undefined) envelope.result_info = result_info;
  return envelope;
}

/** A failure envelope. */
export function failure(code: number, message: string): Envelope<null> {
  return failures([{ code, message }]);
}

/** A failure envelope with several errors: every problem of a request at once. */
export function failures(errors: ApiMessage[]): Envelope<null> {
  return { result: null, success: false, errors, messages: [] };
}

/** A 400 with a message. */
export function invalid(message: string): ApiError {
  return new ApiError(400, ErrorCode.Invalid, message);
}
