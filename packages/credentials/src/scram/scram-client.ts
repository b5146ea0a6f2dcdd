import { hash, hmac, randomBytes, saltedPassword, type ScramMechanism, xor } from "./scram-crypto.ts";
import { fromBase64, toBase64 } from "./scram-messages.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The client's side of a SCRAM exchange (RFC 5802), for MQTT clients that
 * log in to edgemq with enhanced authentication: `first()` goes in CONNECT's
 * Authentication Data, `final()` answers the server's AUTH 0x18, and
 * `verify()` checks the server's proof in CONNACK (or in AUTH 0x00 after a
 * re-authentication). Web-standard APIs only: Node, Bun, Deno and browsers.
 */
export class ScramClient {
  readonly mechanism: ScramMechanism;
  readonly #user: string;
  readonly #password: string;
  readonly #nonce = toBase64(randomBytes(18));
  #authMessage = "";
  #serverSignature: Uint8Array | undefined;

  constructor(mechanism: ScramMechanism, user: string, password: string) {
    this.mechanism = mechanism;
    this.#user = user;
    this.#password = password;
  }

  /** client-first-message, for CONNECT's (or AUTH 0x19's) Authentication Data. */
  first(): Uint8Array {
    return encoder.encode(`n,,${this.#bare()}`);
  }

  /** client-final-message, answering the server's server-first-message. */
  async final(serverFirst: Uint8Array): Promise<Uint8Array> {
    const text = decoder.decode(serverFirst);
    const attrs = new Map(text.split(",").map((p) => [p[0], p.slice(2)] as const));
    const nonce = attrs.get("r") ?? "";
    const salt = fromBase64(attrs.get("s") ?? "");
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.#nonce) || salt === undefined || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error(`not a SCRAM server-first-message for this exchange: ${text}`);
    }
    const salted = await saltedPassword(this.mechanism, this.#password, salt, iterations);
    const clientKey = await hmac(this.mechanism, salted, "Client Key");
    const withoutProof = `c=biws,r=${nonce}`;
    this.#authMessage = `${this.#bare()},${text},${withoutProof}`;
    const signature = await hmac(this.mechanism, await hash(this.mechanism, clientKey), this.#authMessage);
    this.#serverSignature = await hmac(this.mechanism, await hmac(this.mechanism, salted, "Server Key"), this.#authMessage);
    return encoder.encode(`${withoutProof},p=${toBase64(xor(clientKey, signature))}`);
  }

  /** Whether the server-final-message proves the server knows the password (do not trust a server that fails this). */
  verify(serverFinal: Uint8Array | undefined): boolean {
    return serverFinal !== undefined && this.#serverSignature !== undefined && decoder.decode(serverFinal) === `v=${toBase64(this.#serverSignature)}`;
  }

  #bare(): string {
    return `n=${this.#user.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${this.#nonce}`;
  }
}
