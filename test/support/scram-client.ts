// The client side of SCRAM (RFC 5802), written from the RFC for the tests
// (WebCrypto directly, not the broker's helpers): client-first, client-final
// from the server-first, and the check of the server's signature.
const enc = new TextEncoder();
const dec = new TextDecoder();
const HASH = { "SCRAM-SHA-256": ["SHA-256", 256], "SCRAM-SHA-512": ["SHA-512", 512] } as const;
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

async function hmac(hash: string, key: Uint8Array, msg: string | Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, typeof msg === "string" ? enc.encode(msg) : msg));
}

/** One client's SCRAM exchange. */
export class ScramClient {
  readonly mechanism: keyof typeof HASH;
  readonly #user: string;
  readonly #password: string;
  readonly #nonce: string;
  #authMessage = "";
  #serverKey: Uint8Array | undefined;

  constructor(mechanism: keyof typeof HASH, user: string, password: string, nonce = b64(crypto.getRandomValues(new Uint8Array(18)))) {
    this.mechanism = mechanism;
    this.#user = user;
    this.#password = password;
    this.#nonce = nonce;
  }

  /** client-first-message, for CONNECT's Authentication Data. */
  first(): Uint8Array {
    return enc.encode(`n,,${this.#bare()}`);
  }

  #bare(): string {
    return `n=${this.#user.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${this.#nonce}`;
  }

  /** client-final-message for a server-first-message. */
  async final(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = dec.decode(serverFirstBytes);
    const attrs = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
    if (!attrs.r?.startsWith(this.#nonce)) throw new Error(`the server's nonce does not extend ours: ${serverFirst}`);
    const [hash, bits] = HASH[this.mechanism];
    const pw = await crypto.subtle.importKey("raw", enc.encode(this.#password), "PBKDF2", false, ["deriveBits"]);
    const salted = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash, salt: Buffer.from(attrs.s!, "base64"), iterations: Number(attrs.i) }, pw, bits));
    const clientKey = await hmac(hash, salted, "Client Key");
    const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey));
    const withoutProof = `c=biws,r=${attrs.r}`;
    this.#authMessage = `${this.#bare()},${serverFirst},${withoutProof}`;
    const signature = await hmac(hash, storedKey, this.#authMessage);
    this.#serverKey = await hmac(hash, salted, "Server Key");
    return enc.encode(`${withoutProof},p=${b64(clientKey.map((b, i) => b ^ signature[i]!))}`);
  }

  /** Whether a server-final-message proves the server knew the password. */
  async verify(serverFinal: Uint8Array | undefined): Promise<boolean> {
    if (serverFinal === undefined || this.#serverKey === undefined) return false;
    const expected = b64(await hmac(HASH[this.mechanism][0], this.#serverKey, this.#authMessage));
    return dec.decode(serverFinal) === `v=${expected}`;
  }
}
