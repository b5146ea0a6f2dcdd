// The config file's JSON Schema (packages/server/config.schema.json), generated
// by `npm run schema` from the zod schema the server checks the file with.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configJsonSchema, configJsonSchemaText, resolveConfig, type ServerConfig } from "../../packages/server/src/config.ts";
import { keysUnder } from "../../packages/server/src/config/config-file.ts";
import { SERVER_OPTIONS } from "../../packages/server/src/config/option-table.ts";

const COMMITTED = join(import.meta.dirname, "..", "..", "packages", "server", "config.schema.json");

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: boolean; description?: string };

// Every object schema within, with its path.
function objects(schema: Schema, path = ""): [string, Schema][] {
  const here: [string, Schema][] = schema.type === "object" ? [[path, schema]] : [];
  const below = Object.entries(schema.properties ?? {}).flatMap(([k, s]) => objects(s, path === "" ? k : `${path}.${k}`));
  return [...here, ...below, ...(schema.items === undefined ? [] : objects(schema.items, `${path}[]`))];
}

describe("the config file's JSON Schema", () => {
  it("is committed as npm run schema generates it, so it cannot drift from the server's checks", () => {
    expect(readFileSync(COMMITTED, "utf8"), "packages/server/config.schema.json is stale: run npm run schema and commit it").toBe(configJsonSchemaText());
  });

  it("takes every key the server takes, at every level, and no other", () => {
    const schema = configJsonSchema() as Schema;
    expect(Object.keys(schema.properties!).sort()).toEqual([...keysUnder(""), "$schema"].sort());
    for (const [path, object] of objects(schema)) {
      expect(object.additionalProperties, path || "the file").toBe(false);
    }
  });

  it("describes each option's key with its help, its flag and its variable", () => {
    const schema = configJsonSchema() as Schema;
    for (const o of SERVER_OPTIONS.filter((o) => o.file !== undefined)) {
      const at = o.file!.path.split(".").reduce<Schema | undefined>((s, key) => s?.properties?.[key], schema);
      expect(at?.description, o.name).toContain(`flag --${o.name}`);
      if (o.env !== undefined) expect(at?.description, o.name).toContain(`variable ${o.env}`);
    }
  });

  it("lets a config file name its schema with \"$schema\", for editors", () => {
    const c = resolveConfig(["--config", "edgemq.json"], {}, () => JSON.stringify({ $schema: "./node_modules/@edgemq/server/config.schema.json", logLevel: "warn" })) as ServerConfig;
    expect(c.logLevel).toBe("warn");
  });
});
