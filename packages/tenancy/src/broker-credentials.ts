import { ReasonCode } from "@edgemq/core";
import { type IssuedCredential, issueCredential, JTI_ATTRIBUTE, publicKeys, rotateKeySet, ulid } from "@edgemq/credentials";
import { TenancyError } from "./errors.ts";
import { timestamp } from "./ids.ts";
import type { BrokerRecord } from "./records.ts";
import type { BrokerState, CredentialRequest, PublicJwk } from "./registry-types.ts";
import type { TenancyStore } from "./store.ts";
import { checkCredentialRequest, checkJtis } from "./validate.ts";

/**
 * Rotates a broker's keys: a new key signs from now on, the current one
 * still verifies, the one before it no longer does. Returns the new public keys.
 */
export async function rotateBrokerKeys(store: TenancyStore, state: BrokerState, now: () => number): Promise<PublicJwk[]> {
  const next: BrokerRecord = { ...state.record, keys: await rotateKeySet(state.record.keys, now()) };
  await store.putBroker(next);
  state.record = next;
  return publicKeys(next.keys);
}

/** Issues credentials (JWTs) for a TOKEN broker: one per given client id, plus generated ones up to `number`. */
export async function issueBrokerCredentials(state: BrokerState, request: CredentialRequest, clock: () => number, maxClientIdLength = 65_535): Promise<IssuedCredential[]> {
  const { record } = state;
  if (record.authType === "MTLS") {
    throw new TenancyError("unsupported", `broker "${record.name}" authenticates clients by certificate only (auth type MTLS); it issues no tokens`);
  }
  const total = checkCredentialRequest(request);
  const clientIds = request.clientIds ?? [];
  // A credential the broker would refuse at CONNECT (0x85) is not issued.
  const long = clientIds.find((id) => new TextEncoder().encode(id).byteLength > maxClientIdLength);
  if (long !== undefined) {
    throw new TenancyError("invalid", `clientid "${long}" is longer than broker "${record.name}" allows (max_client_id_length ${maxClientIdLength}), so it could never connect: give a shorter one or raise that limit`);
  }
  const now = clock();
  const audience = `${record.name}.${record.namespace}`;
  const out: IssuedCredential[] = [];
  for (let i = 0; i < total; i++) {
    out.push(await issueCredential(record.keys, {
      clientId: clientIds[i] ?? fittingClientId(now, maxClientIdLength), audience, brokerExpiration: record.expiration, expiration: request.expiration, topicAcl: request.topicAcl, now,
    }));
  }
  return out;
}

/**
 * Revokes credentials by `jti`, at most `max` per broker: written first, then
 * live sessions using them are disconnected (DISCONNECT 0x98). Revoking one
 * already revoked keeps its first time. Returns how many clients were disconnected.
 */
export async function revokeCredentials(store: TenancyStore, state: BrokerState, jtis: string[], max: number, now: () => number): Promise<number> {
  const wanted = checkJtis(jtis);
  const fresh = wanted.filter((j) => !state.revocations.has(j));
  if (state.revocations.size + fresh.length > max) {
    throw new TenancyError("limit", `broker "${state.record.name}" can hold at most ${max} revocations; it has ${state.revocations.size} and this adds ${fresh.length}`);
  }
  const revoked_at = timestamp(now());
  if (fresh.length > 0) await store.putRevocations(state.record.namespace, state.record.name, fresh.map((jti) => ({ jti, revoked_at })));
  for (const jti of fresh) state.revocations.set(jti, revoked_at);
  const set = new Set(wanted);
  return state.instance?.disconnectClients(
    (c) => set.has(c.attributes[JTI_ATTRIBUTE] as string), ReasonCode.AdministrativeAction, "the credential was revoked",
  ) ?? 0;
}

/** Takes revocations back (an expired credential stays invalid); unknown `jti`s are ignored. */
export async function unrevokeCredentials(store: TenancyStore, state: BrokerState, jtis: string[]): Promise<void> {
  const present = checkJtis(jtis).filter((j) => state.revocations.has(j));
  if (present.length > 0) await store.deleteRevocations(state.record.namespace, state.record.name, present);
  for (const jti of present) state.revocations.delete(jti);
}

// A generated client id within the broker's limit: a ULID (26 characters), or, for a shorter limit
// such as the cloudflare preset's 23, its last characters (all 16 random ones, then the newest of the time).
function fittingClientId(now: number, max: number): string {
  const id = ulid(now);
  if (max >= id.length) return id;
  if (max < 16) throw new TenancyError("invalid", `this broker's max_client_id_length (${max}) is too short for generated client ids (16 at least): give clientid for each credential`);
  return id.slice(id.length - max);
}
