/** A listener that could not start, with the runtime's error. */
export class ListenError extends Error {
  readonly listener: { protocol: string; host: string; port: number };
  override readonly cause: unknown;
  constructor(listener: { protocol: string; host: string; port: number }, cause: unknown) {
    super(`cannot listen on ${listener.protocol}://${listener.host}:${listener.port}: ${describe(cause)}`);
    this.name = "ListenError";
    this.listener = listener;
    this.cause = cause;
  }
}

/** An error in the same words on every runtime, whatever each calls its errors. */
export function describe(e: unknown): string {
  const code = (e as { code?: string }).code ?? (e as { name?: string }).name ?? "";
  const text = String((e as Error).message ?? e);
  if (code === "EADDRINUSE" || code === "AddrInUse" || /address.*in use/i.test(text)) {
    return "the address is in use (EADDRINUSE): stop the other process or pick another with --port";
  }
  if (code === "EACCES" || code === "PermissionDenied") return "permission denied (EACCES): ports below 1024 need privileges; pick another with --port";
  if (code === "ENOENT" || code === "NotFound" || /no such file|not found/i.test(text)) return `${text} (check the certificate and key paths)`;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}
