import { fromBase64, SCRAM_MECHANISMS, type ScramCredential, scramCredential, type ScramMechanism, toBase64 } from "@edgemq/credentials";
import { TenancyError } from "./errors.ts";
import { timestamp } from "./ids.ts";
import type { BrokerRecord, ScramUserRecord } from "./records.ts";
import type { BrokerState } from "./registry-types.ts";
import type { TenancyStore } from "./store.ts";

/** Most SCRAM users per broker: a broker with more wants an identity provider, not a list. */
export const MAX_SCRAM_USERS_PER_BROKER = 10_000;

/** What the admin API shows of a SCRAM user: never a key. */
export interface ScramUserInfo {
  username: string;
  iterations: number;
  mechanisms: ScramMechanism[];
  created_on: string;
}

/** A SCRAM user as the admin API shows it. */
export function scramUserInfo(u: ScramUserRecord): ScramUserInfo {
  return { username: u.username, iterations: u.iterations, mechanisms: Object.keys(u.keys) as ScramMechanism[], created_on: u.created_on };
}

/** Checks a SCRAM user name: what SCRAM's saslname carries, within MQTT's user name length. */
export function checkScramUsername(username: unknown): string {
  if (typeof username !== "string" || username.length === 0 || username.length > 256 || /[\u0000-\u001f\u007f]/.test(username)) {
    throw new TenancyError("invalid", "username must be 1 to 256 characters without control characters");
  }
  return username;
}

/**
 * Adds a SCRAM user to a broker, or replaces its password: salt, iteration
 * count, StoredKey and ServerKey for each mechanism are kept, never the password.
 */
export async function putScramUser(store: TenancyStore, state: BrokerState, username: string, password: unknown, iterations: unknown, now: () => number): Promise<ScramUserInfo> {
  const name = checkScramUsername(username);
  if (typeof password !== "string" || password.length < 8 || password.length > 1024) {
    throw new TenancyError("invalid", "password must be 8 to 1024 characters");
  }
  const rounds = iterations ?? 4096;
  if (typeof rounds !== "number" || !Number.isInteger(rounds) || rounds < 4096 || rounds > 1_000_000) {
    throw new TenancyError("invalid", "iterations must be a whole number from 4096 (RFC 7677's minimum) to 1000000");
  }
  const users = state.record.scram_users ?? [];
  if (!users.some((u) => u.username === name) && users.length >= MAX_SCRAM_USERS_PER_BROKER) {
    throw new TenancyError("limit", `a broker has at most ${MAX_SCRAM_USERS_PER_BROKER} SCRAM users`);
  }
  const keys: ScramUserRecord["keys"] = {};
  for (const mechanism of Object.keys(SCRAM_MECHANISMS) as ScramMechanism[]) {
    const c = await scramCredential(mechanism, password, { iterations: rounds });
    keys[mechanism] = { salt: toBase64(c.salt), stored_key: toBase64(c.storedKey), server_key: toBase64(c.serverKey) };
  }
  const user: ScramUserRecord = { username: name, iterations: rounds, keys, created_on: timestamp(now()) };
  const next: BrokerRecord = { ...state.record, scram_users: [...users.filter((u) => u.username !== name), user] };
  await store.putBroker(next);
  state.record = next;
  return scramUserInfo(user);
}

/** Removes a SCRAM user; its live connections stay until they end (revoke a credential to cut one). */
export async function deleteScramUser(store: TenancyStore, state: BrokerState, username: string): Promise<void> {
  const users = state.record.scram_users ?? [];
  if (!users.some((u) => u.username === username)) throw new TenancyError("not_found", `broker "${state.record.name}" has no SCRAM user "${username}"`);
  const next: BrokerRecord = { ...state.record, scram_users: users.filter((u) => u.username !== username) };
  await store.putBroker(next);
  state.record = next;
}

/** The credential a broker keeps for a SCRAM user under a mechanism, for the SCRAM hook. */
export function scramCredentialOf(record: BrokerRecord, username: string, mechanism: ScramMechanism): ScramCredential | undefined {
  const user = record.scram_users?.find((u) => u.username === username);
  const k = user?.keys[mechanism];
  if (user === undefined || k === undefined) return undefined;
  return { mechanism, iterations: user.iterations, salt: fromBase64(k.salt)!, storedKey: fromBase64(k.stored_key)!, serverKey: fromBase64(k.server_key)! };
}
