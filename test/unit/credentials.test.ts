import { createHash } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  expiryFor, formatTopicAcl, generateSigningKey, isRefusal, issueCredential, type KeySet, newKeySet,
  parseTopicAcl, publicKeys, rotateKeySet, signingKey, topicAclRules, verifyCredential,
} from "@edgemq/credentials";
import { type ClientInfo, evaluateRules } from "@edgemq/core";

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const AUD = "sensors.acme";
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const verify = (token: string, keys: KeySet, extra: Partial<Parameters<typeof verifyCredential>[2]> = {}) =>
  verifyCredential(token, keys, { audience: AUD, now: NOW, isRevoked: () => false, ...extra });

describe("signing keys", () => {
  it("names each key by its RFC 7638 thumbprint", async () => {
    const key = await generateSigningKey(NOW);
    const { crv, kty, x } = key.publicJwk as { crv: string; kty: string; x: string };
    // Computed here independently: SHA-256 of the required members in lexical order.
    const expected = createHash("sha256").update(JSON.stringify({ crv, kty, x })).digest("base64url");
    expect(key.kid).toBe(expected);
    expect(key.publicJwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: expected });
    expect(key.publicJwk).not.toHaveProperty("d");
  });

  it("keeps two keys after rotation: the new one signs, the previous one still verifies", async () => {
    const first = await newKeySet(NOW);
    const old = await issueCredential(first, { audience: AUD, now: NOW });
    const second = await rotateKeySet(first, NOW);
    expect(publicKeys(second).map((k) => k.kid)).toEqual([second.current.kid, first.current.kid]);
    expect(isRefusal(await verify(old.token, second))).toBe(false);
    const third = await rotateKeySet(second, NOW);
    expect(await verify(old.token, third)).toMatchObject({ reasonCode: 0x86 });
  });
});

describe("issuing credentials", () => {
  it("issues a JWT with Cloudflare's header and claims: sub, jti, iat, topicAcl", async () => {
    const keys = await newKeySet(NOW);
    const c = await issueCredential(keys, { clientId: "dev-1", audience: AUD, now: NOW });
    const [h, p] = c.token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(h).toEqual({ alg: "EdDSA", kid: keys.current.kid });
    expect(p).toMatchObject({ sub: "dev-1", jti: c.jti, iat: NOW / 1000, topicAcl: "#", aud: AUD, iss: "edgemq" });
    expect(p).not.toHaveProperty("exp");
    expect(c.jti).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("generates a ULID client id when none is given", async () => {
    const c = await issueCredential(await newKeySet(NOW), { audience: AUD, now: NOW });
    expect(c.clientId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("takes the shorter of the broker's and the request's expiration, and none for -1 only when the broker sets none", () => {
    expect(expiryFor({ now: NOW, brokerExpiration: 3600, expiration: 60 })).toBe(NOW / 1000 + 60);
    expect(expiryFor({ now: NOW, brokerExpiration: 60, expiration: 3600 })).toBe(NOW / 1000 + 60);
    expect(expiryFor({ now: NOW, brokerExpiration: 60, expiration: -1 })).toBe(NOW / 1000 + 60);
    expect(expiryFor({ now: NOW, brokerExpiration: null, expiration: -1 })).toBeUndefined();
    expect(expiryFor({ now: NOW, brokerExpiration: null })).toBeUndefined();
    expect(expiryFor({ now: NOW, expiration: 10 })).toBe(NOW / 1000 + 10);
  });
});

describe("verifying credentials: the JWT attack matrix", () => {
  it("accepts a credential this broker issued, with its claims", async () => {
    const keys = await newKeySet(NOW);
    const c = await issueCredential(keys, { clientId: "dev-1", audience: AUD, now: NOW, expiration: 60, topicAcl: "sub:a/# pub:b/%c" });
    expect(await verify(c.token, keys)).toEqual({
      sub: "dev-1", jti: c.jti, iat: NOW / 1000, exp: NOW / 1000 + 60, topicAcl: { publish: ["b/%c"], subscribe: ["a/#"] },
    });
  });

  it("refuses alg none with 0x86", async () => {
    const keys = await newKeySet(NOW);
    const token = `${b64({ alg: "none", kid: keys.current.kid })}.${b64({ sub: "x", jti: "j", iat: NOW / 1000, aud: AUD, iss: "edgemq" })}.`;
    expect(await verify(token, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses HS256 signed with the broker's public key as a secret (algorithm confusion)", async () => {
    const keys = await newKeySet(NOW);
    const secret = new TextEncoder().encode(JSON.stringify(keys.current.publicJwk));
    const token = await new SignJWT({ topicAcl: "#" }).setProtectedHeader({ alg: "HS256", kid: keys.current.kid })
      .setSubject("x").setJti("j").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).sign(secret);
    expect(await verify(token, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses a credential signed by another broker's key, even with a kid it copied", async () => {
    const keys = await newKeySet(NOW);
    const other = await newKeySet(NOW);
    const forged = await new SignJWT({ topicAcl: "#" }).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
      .setSubject("x").setJti("j").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).sign(await signingKey(other));
    expect(await verify(forged, keys)).toMatchObject({ reasonCode: 0x86, reason: expect.stringContaining("signature") });
    const theirs = await issueCredential(other, { audience: AUD, now: NOW });
    expect(await verify(theirs.token, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses a credential from the second it expires, without tolerance, and one issued more than 30 s ahead", async () => {
    const keys = await newKeySet(NOW);
    const c = await issueCredential(keys, { audience: AUD, now: NOW, expiration: 60 });
    expect(isRefusal(await verify(c.token, keys, { now: NOW + 59_000 }))).toBe(false);
    expect(await verify(c.token, keys, { now: NOW + 60_000 })).toMatchObject({ reasonCode: 0x86, reason: "the credential has expired" });
    expect(isRefusal(await verify(c.token, keys, { now: NOW - 30_000 }))).toBe(false); // issued 30 s ahead: within the tolerance
    expect(await verify(c.token, keys, { now: NOW - 31_000 })).toMatchObject({ reasonCode: 0x86, reason: expect.stringContaining("iat") });
  });

  it("refuses a credential whose nbf is in the future", async () => {
    const keys = await newKeySet(NOW);
    const token = await new SignJWT({ topicAcl: "#" }).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
      .setSubject("x").setJti("j").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).setNotBefore(NOW / 1000 + 3600)
      .sign(await signingKey(keys));
    expect(await verify(token, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses a credential without a jti or without a sub", async () => {
    const keys = await newKeySet(NOW);
    const key = await signingKey(keys);
    const noJti = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
      .setSubject("x").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).sign(key);
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
      .setJti("j").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).sign(key);
    expect(await verify(noJti, keys)).toMatchObject({ reasonCode: 0x86 });
    expect(await verify(noSub, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses a revoked jti with 0x87 (valid, but not allowed)", async () => {
    const keys = await newKeySet(NOW);
    const c = await issueCredential(keys, { audience: AUD, now: NOW });
    expect(await verify(c.token, keys, { isRevoked: (j) => j === c.jti })).toEqual({ reasonCode: 0x87, reason: "the credential has been revoked" });
  });

  it("refuses a credential for another broker (wrong aud) and a wrong issuer or typ", async () => {
    const keys = await newKeySet(NOW);
    const c = await issueCredential(keys, { audience: "other.acme", now: NOW });
    expect(await verify(c.token, keys)).toMatchObject({ reasonCode: 0x86, reason: expect.stringContaining("aud") });
    const key = await signingKey(keys);
    const wrongIss = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid })
      .setSubject("x").setJti("j").setIssuer("someone-else").setAudience(AUD).setIssuedAt(NOW / 1000).sign(key);
    expect(await verify(wrongIss, keys)).toMatchObject({ reasonCode: 0x86 });
    const wrongTyp = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid, typ: "at+jwt" })
      .setSubject("x").setJti("j").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).sign(key);
    expect(await verify(wrongTyp, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses an unknown critical header parameter", async () => {
    const keys = await newKeySet(NOW);
    const token = await new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid: keys.current.kid, crit: ["x-edgemq"], "x-edgemq": 1 } as never)
      .setSubject("x").setJti("j").setIssuer("edgemq").setAudience(AUD).setIssuedAt(NOW / 1000).sign(await signingKey(keys), { crit: { "x-edgemq": true } });
    expect(await verify(token, keys)).toMatchObject({ reasonCode: 0x86 });
  });

  it("refuses garbage and an oversized token", async () => {
    const keys = await newKeySet(NOW);
    for (const token of ["", "hunter2", "a.b.c", "....", "x".repeat(5000), `${b64({ alg: "EdDSA" })}.${"A".repeat(4100)}.sig`]) {
      expect(await verify(token, keys)).toMatchObject({ reasonCode: 0x86 });
    }
  });
});

describe("the topicAcl grammar", () => {
  it("reads entries with pub: and sub: prefixes, separated by spaces or commas", () => {
    expect(parseTopicAcl("sub:sensors/# pub:cmd/%c,alerts/+")).toEqual({ publish: ["cmd/%c", "alerts/+"], subscribe: ["sensors/#", "alerts/+"] });
  });

  it("treats missing, empty and # as every topic that does not start with $", () => {
    for (const v of [undefined, "", "#"]) expect(parseTopicAcl(v)).toEqual({ publish: ["#"], subscribe: ["#"] });
  });

  it("accepts the JSON form and round-trips through the string form", () => {
    const acl = parseTopicAcl({ publish: ["a/b", "c"], subscribe: ["a/#", "c"] });
    expect(formatTopicAcl(acl)).toBe("c pub:a/b sub:a/#");
    const back = parseTopicAcl(formatTopicAcl(acl));
    expect(back.publish.sort()).toEqual(["a/b", "c"]);
    expect(back.subscribe.sort()).toEqual(["a/#", "c"]);
  });

  it("refuses invalid filters, $share/ grants and unknown keys, saying why", () => {
    expect(() => parseTopicAcl("sub:a/#/b")).toThrow(/not a valid topic filter/);
    expect(() => parseTopicAcl("$share/g/a")).toThrow(/shared subscriptions are checked/);
    expect(() => parseTopicAcl({ read: ["a"] })).toThrow(/unknown key "read"/);
    expect(() => parseTopicAcl(42)).toThrow(/must be a string/);
  });

  it("does not let a/# read b/x by #, +/x, b/#, $share/g/#, $share/g/b/x or $SYS/# (the ACL matrix)", () => {
    const rules = topicAclRules(parseTopicAcl("a/#"));
    const client: ClientInfo = { clientId: "c1", username: undefined, protocolVersion: 5, conn: { remoteAddress: "", remotePort: 0, transport: "memory" }, attributes: {} };
    for (const filter of ["#", "+/x", "b/#", "$SYS/#", "+", "+/#"]) expect(evaluateRules(rules, client, "subscribe", filter, true)).toBe("deny");
    // $share/{group}/{filter} is checked as its filter.
    for (const filter of ["#", "b/x"]) expect(evaluateRules(rules, client, "subscribe", filter, true)).toBe("deny");
    for (const filter of ["a/#", "a/+", "a/b/c", "a"]) expect(evaluateRules(rules, client, "subscribe", filter, true)).toBe("allow");
    expect(evaluateRules(rules, client, "publish", "b/x", false)).toBe("deny");
    expect(evaluateRules(rules, client, "publish", "$SYS/broker/uptime", false)).toBe("deny");
    // A literal grant does not cover deeper topics.
    const literal = topicAclRules(parseTopicAcl("a"));
    expect(evaluateRules(literal, client, "subscribe", "a/secret", true)).toBe("deny");
  });

  it("lets %c stand for the client id, and never widens for a client id holding + or #", () => {
    const rules = topicAclRules(parseTopicAcl("pub:devices/%c/#"));
    const as = (clientId: string): ClientInfo => ({ clientId, username: undefined, protocolVersion: 5, conn: { remoteAddress: "", remotePort: 0, transport: "memory" }, attributes: {} });
    expect(evaluateRules(rules, as("d1"), "publish", "devices/d1/temp", false)).toBe("allow");
    expect(evaluateRules(rules, as("d1"), "publish", "devices/d2/temp", false)).toBe("deny");
    expect(evaluateRules(rules, as("#"), "publish", "devices/d2/temp", false)).toBe("deny");
  });
});
