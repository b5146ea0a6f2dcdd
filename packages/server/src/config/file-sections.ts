import { DEFAULT_LIMITS, FULL_FEATURES, REFUSAL_REASON_CODES } from "@edgemq/core";
import { z } from "zod";
import { PORT, show } from "./value-types.ts";

/** A config-file setting that no flag sets (or a group of settings), with its schema and where it goes. */
export interface FileSection {
  /** Its key path: `acl`, `admin.listeners`. */
  path: string;
  /** An object of settings, whose keys are the paths below it (the options' and sections'). */
  object?: true;
  /** What its value must be (an object section's is built from the keys below it; see file-schema.ts). */
  schema?: z.ZodType;
  /** Where it goes: a ServerConfig property taken as it is, or a part build-config.ts builds. */
  target?: "acl" | "features" | "listeners" | "limits" | "admin.listeners";
  /** The value when the file has none. */
  default?: unknown;
  /** How `--help` shows it, when more than its key. */
  summary?: string;
  /** What it is, for editors (the JSON Schema's description). */
  description?: string;
}

const PEM = (what: string) => z.string().meta({ description: `${what} (PEM file path, relative to this file)` });

const LISTENER = z.strictObject({
  protocol: z.enum(["tcp", "tls", "ws", "wss"]).optional(),
  host: z.string().optional(),
  port: PORT.schema.optional(),
  cert: PEM("certificate chain").optional(),
  key: PEM("private key").optional(),
  ca: PEM("CA bundle to verify client certificates").optional(),
  requestCert: z.boolean().optional(),
  path: z.string().regex(/^\//, { error: (i) => `must start with "/", got ${show(i.input)}` }).optional(),
  broker: z.string().regex(/^[^.]+\.[^.]+$/, { error: (i) => `must name one tenant broker as "<broker>.<namespace>", got ${show(i.input)}` }).optional(),
});

const ADMIN_LISTENER = z.strictObject({
  protocol: z.enum(["http", "https"]).optional(),
  host: z.string().optional(),
  port: PORT.schema.optional(),
  cert: PEM("certificate chain").optional(),
  key: PEM("private key").optional(),
});

const WHOLE = z.number({ error: (i) => `needs a whole number, got ${show(i.input)}` }).int().min(0, { error: (i) => `must be 0 or more, got ${show(i.input)}` });

// Each limit as the broker's default has it: a flag, or a whole number (ranges are checked once the flags are in too).
const LIMITS = z.strictObject(Object.fromEntries(Object.entries(DEFAULT_LIMITS).map(([key, d]) => [key, (typeof d === "boolean" ? z.boolean() : WHOLE).optional()])));

// A misspelt feature would otherwise be ignored and leave the feature on.
const FEATURE: Record<string, z.ZodType> = {
  maximumQoS: z.literal([0, 1, 2]),
  protocolVersions: z.array(z.literal([3, 4, 5])).min(1, { error: "must list some of 3, 4 and 5" }),
  refusal: z.enum(["spec", "cloudflare"]),
  sessionTakeover: z.enum(["same-identity", "any"]),
};
const FEATURES = z.strictObject(Object.fromEntries(Object.keys(FULL_FEATURES).map((key) => [key, (FEATURE[key] ?? z.boolean()).optional()])));

// What a deny rule may answer a refused PUBLISH or SUBSCRIBE with (valid in PUBACK, PUBREC and SUBACK).
const REFUSAL = z.number().refine((n) => REFUSAL_REASON_CODES.includes(n), {
  error: (i) => `must be one of ${REFUSAL_REASON_CODES.map((c) => `${c} (0x${c.toString(16)})`).join(", ")}, got ${show(i.input)}`,
}).meta({ description: "the reason code of a refusal: 128 (0x80), 131 (0x83), 135 (0x87, the default) or 151 (0x97)" });

// A malformed rule would otherwise fail at the first publish, or deny without saying why.
const ACL = z.strictObject({
  rules: z.array(z.strictObject({
    clientId: z.string().optional(),
    username: z.string().optional(),
    topics: z.array(z.string().min(1), { error: (i) => `must be a list of topic filters, got ${show(i.input)}` }),
    access: z.enum(["publish", "subscribe", "all"]),
    effect: z.enum(["allow", "deny"]),
    reasonCode: REFUSAL.optional(),
  })),
  defaultEffect: z.enum(["allow", "deny"]),
  defaultReasonCode: REFUSAL.optional(),
});

/** The config file's own settings, besides the options' keys (see option-table.ts). */
export const FILE_SECTIONS: readonly FileSection[] = [
  { path: "listeners", schema: z.array(LISTENER), target: "listeners", summary: 'listeners (each may name a tenant "broker")', description: "MQTT listeners (unless --host or --port is given)" },
  { path: "acl", schema: ACL, target: "acl", summary: "acl {rules, defaultEffect}", description: "access rules for the default broker" },
  { path: "limits", schema: LIMITS, target: "limits", description: "the broker's limits, over the preset's; the flags override them" },
  { path: "features", schema: FEATURES, target: "features", default: {}, description: "MQTT features to turn off or narrow" },
  { path: "admin", object: true, description: "the admin HTTP API" },
  { path: "admin.listeners", schema: z.array(ADMIN_LISTENER), target: "admin.listeners", description: "where the admin API listens (unless --admin-port is given)" },
  { path: "data", object: true, description: "where data lives" },
  { path: "cluster", object: true, description: "joining other edgemq nodes over NATS (preview)" },
  { path: "cluster.tls", object: true, description: "TLS to the NATS servers: PEM files ca, cert and key" },
];
