// A client that resets its connection (RST, as load generators and crashing
// devices do) makes Node build an ErrnoException for it and format its stack
// at once (stream destroy() reads err.stack), ~10 µs per reset socket, all
// for frames inside Node that nobody reads: edgemq logs the code, not the
// stack (issue 14). Here the socket's read callback is wrapped so that only
// the read that reports the end or an error (Node passes no buffer then)
// runs with Error.stackTraceLimit at 0. Data reads go straight through, the
// error still reaches the socket's "error" listener with its code, errno and
// message, and the limit is back before any listener runs (Node emits
// "error" and "close" on a later tick).
import type net from "node:net";

type ReadCallback = (this: unknown, buffer: ArrayBuffer | undefined) => unknown;
interface StreamHandle {
  onread?: ReadCallback;
}

// Node's own read callback, the same function for every socket: taken from the first one.
let nodeOnRead: ReadCallback | undefined;

function onRead(this: unknown, buffer: ArrayBuffer | undefined): unknown {
  if (buffer !== undefined) return nodeOnRead!.call(this, buffer);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return nodeOnRead!.call(this, buffer);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Makes the end of `socket` (a reset above all) cost no stack trace; leaves a socket whose internals differ alone. */
export function quietResets(socket: net.Socket): void {
  const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
  const current = handle?.onread;
  if (handle === undefined || typeof current !== "function" || current === onRead) return;
  nodeOnRead ??= current;
  if (current !== nodeOnRead) return; // not the callback this was written against
  handle.onread = onRead;
}
