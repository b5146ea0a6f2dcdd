// The runtime's floor (issue 14): the least an MQTT server can do in this
// runtime and still pass the bench's idle and connection-rate scenarios. It
// accepts, answers each CONNECT with a bare CONNACK (5 bytes for 5.0, 4 for
// 3.1.1), holds the connection, and closes when the client ends it; nothing
// else. Each runtime's own socket API, as edgemq's adapter for it uses:
// node:net on Node, Bun.listen on Bun. `<runtime> bench/lib/floor-server.ts --port N`.
/// <reference path="../../adapters/bun/src/runtime.d.ts" />
import net from "node:net";

const i = process.argv.indexOf("--port");
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
const CONNACK_V5 = new Uint8Array([0x20, 3, 0, 0, 0]);
const CONNACK_V4 = new Uint8Array([0x20, 2, 0, 0]);

// The CONNACK for a chunk that starts with a CONNECT (its protocol level says which), else none.
function connack(b: Uint8Array): Uint8Array | undefined {
  if (b[0] !== 0x10) return undefined;
  let at = 1;
  while (at < 5 && (b[at]! & 0x80) !== 0) at++;
  at++;
  const level = b[at + 2 + ((b[at]! << 8) | b[at + 1]!)];
  return level === 5 ? CONNACK_V5 : CONNACK_V4;
}

const announce = (p: number) => console.log(`floor server on ${typeof Bun === "undefined" ? "node" : "bun"}: listening on tcp://127.0.0.1:${p}`);

if (typeof Bun !== "undefined") {
  const server = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(socket, data) {
        const answer = connack(data);
        if (answer !== undefined) socket.write(answer);
      },
    },
  });
  announce(server.port);
} else {
  // Shared listeners: the floor keeps nothing per connection but the runtime's own socket.
  function onData(this: net.Socket, b: Buffer): void {
    const answer = connack(b);
    if (answer !== undefined) this.write(answer);
  }
  const ignore = () => {};
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on("data", onData);
    s.on("error", ignore);
  });
  server.listen(port, "127.0.0.1", () => announce((server.address() as net.AddressInfo).port));
}
