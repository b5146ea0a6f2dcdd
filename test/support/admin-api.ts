// The admin API of a server started by startBroker, as a test talks to it over real HTTP.
import { z } from "zod";
import { generatedAdminToken, type RunningBroker } from "./server.ts";

/** The account id every scenario uses in the API's paths. */
export const ACCOUNT = "0123456789abcdef0123456789abcdef";

/** One answer of the admin API: its status, its envelope and its headers. */
export interface ApiAnswer {
  status: number;
  json: {
    result: any; success: boolean; errors: { code: number; message: string }[];
    result_info?: { page: number; per_page: number; count: number; total_count: number; total_pages: number };
  };
  headers: Headers;
}

/** The admin API of one running server, with the Admin token it generated at start (or the one given). */
export class Admin {
  readonly base: string;
  readonly token: string;
  constructor(broker: RunningBroker, token?: string) {
    this.base = `http://127.0.0.1:${broker.ports.http}/client/v4/accounts/${ACCOUNT}/pubsub`;
    this.token = token ?? generatedAdminToken(broker.output());
  }

  /** Sends a request with a token (the Admin's unless given; null for none). */
  async call(method: string, path: string, body?: unknown, token: string | null = this.token): Promise<ApiAnswer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() as ApiAnswer["json"], headers: res.headers };
  }

  /** Sends a request that must succeed; returns its result. */
  async ok(method: string, path: string, body?: unknown, token: string | null = this.token): Promise<any> {
    const { status, json } = await this.call(method, path, body, token);
    if (status !== 200 || !json.success) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json.errors)}`);
    return json.result;
  }

  /** Issues one credential and returns its token. */
  async credential(ns: string, broker: string, clientId: string, topicAcl = "#", expiration?: number): Promise<string> {
    const exp = expiration === undefined ? "" : `&expiration=${expiration}`;
    const result = await this.ok("GET", `/namespaces/${ns}/brokers/${broker}/credentials?type=TOKEN&clientid=${encodeURIComponent(clientId)}&topicAcl=${encodeURIComponent(topicAcl)}${exp}`);
    return result[clientId] as string;
  }

  /** Creates an API token of a role (scoped to every namespace unless given); returns its secret. */
  async apiToken(role: "Admin" | "User" | "Viewer", namespaces: "*" | string[] = "*"): Promise<string> {
    return (await this.ok("POST", "/tokens", { name: `${role} for a test`, role, namespaces })).value as string;
  }
}

/** A JWT's claims, read without verifying it. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}

type Json = Record<string, any>;

// A document's node with every $ref replaced by what it points to (the admin API's schemas are not recursive).
function inline(doc: Json, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => inline(doc, n));
  if (node === null || typeof node !== "object") return node;
  const ref = (node as Json).$ref;
  if (typeof ref === "string") return inline(doc, ref.replace(/^#\//, "").split("/").reduce<any>((n, k) => n?.[k], doc));
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(doc, v)]));
}

/**
 * The JSON Schema an OpenAPI document gives for one answer (`GET`, `/namespaces/{namespace}`, 200),
 * as a zod schema to check a real answer against; throws if the document has no such answer.
 */
export function documentedAnswer(doc: Json, method: string, path: string, status: number): z.ZodType {
  const response = inline(doc, doc.paths?.[path]?.[method.toLowerCase()]?.responses?.[status]) as Json | undefined;
  const schema = response?.content?.["application/json"]?.schema;
  if (schema === undefined) throw new Error(`the document has no ${status} answer for ${method} ${path}`);
  return z.fromJSONSchema(schema);
}
