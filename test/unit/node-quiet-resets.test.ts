// Issue 14: a client that resets its connection costs Node's listener no
// stack trace, and is still reported and detached as before.
import type net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Broker, listen, type Listener } from "@edgemq/node";
import { connect, waitFor } from "../support/clients.ts";

describe("a client that resets its connection on Node", () => {
  let listener: Listener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  it("is reported with its code but no stack frames, detached from the broker, and leaves the stack trace limit as it was", async () => {
    const broker = new Broker({ now: Date.now });
    const errors: { what: string; error: NodeJS.ErrnoException; level: string | undefined }[] = [];
    listener = await listen(broker, { protocol: "tcp", host: "127.0.0.1", port: 0 }, (what, error, level) => {
      errors.push({ what, error: error as NodeJS.ErrnoException, level });
    });
    const limit = Error.stackTraceLimit;
    const client = await connect(`mqtt://127.0.0.1:${listener.port}`, { protocolVersion: 5, clientId: "resets", reconnectPeriod: 0 });
    await waitFor(() => broker.clients("resets").length === 1, 3000, "the client connected");
    (client.stream as net.Socket).resetAndDestroy();
    await waitFor(() => errors.length === 1 && broker.connectionCount === 0, 3000, "the reset reported and the connection detached");
    client.end(true);
    expect(errors[0]!.what).toBe("a connection");
    expect(errors[0]!.level).toBe("debug");
    expect(errors[0]!.error.code).toBe("ECONNRESET");
    expect(errors[0]!.error.message).toBe("read ECONNRESET");
    expect(errors[0]!.error.stack).not.toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error("here").stack).toMatch(/\n\s+at /);
  });

  it("still delivers what a client sends before it closes normally", async () => {
    const broker = new Broker({ now: Date.now });
    listener = await listen(broker, { protocol: "tcp", host: "127.0.0.1", port: 0 });
    const sub = await connect(`mqtt://127.0.0.1:${listener.port}`, { protocolVersion: 5, clientId: "sub", reconnectPeriod: 0 });
    const got: string[] = [];
    sub.on("message", (_t, payload) => got.push(payload.toString()));
    await sub.subscribeAsync("t", { qos: 1 });
    const pub = await connect(`mqtt://127.0.0.1:${listener.port}`, { protocolVersion: 5, clientId: "pub", reconnectPeriod: 0 });
    await pub.publishAsync("t", "before the end", { qos: 1 });
    await pub.endAsync();
    await waitFor(() => got.length === 1 && broker.connectionCount === 1, 3000, "the message and the publisher's close");
    expect(got).toEqual(["before the end"]);
    await sub.endAsync();
  });
});
