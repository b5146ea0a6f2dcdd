import { z } from "zod";
import { FILE_SECTIONS } from "./file-sections.ts";
import { SERVER_OPTIONS } from "./option-table.ts";
import { keysUnder } from "./config-file.ts";

// Each key path's schema and description: the sections', then the options' (their own schema unless the file's
// differs, or the key is within a section's schema).
function leaves(): Map<string, z.ZodType> {
  const found = new Map<string, z.ZodType>();
  for (const s of FILE_SECTIONS) if (s.schema !== undefined) found.set(s.path, s.schema);
  for (const o of SERVER_OPTIONS) {
    if (o.file === undefined) continue;
    const help = [o.help].flat().join(" ").replace(/ \(repeatable\)/, "");
    const description = `${help} (flag --${o.name}${o.env === undefined ? "" : `, variable ${o.env}`})`;
    const [parent, key] = [o.file.path.slice(0, o.file.path.lastIndexOf(".")), o.file.path.slice(o.file.path.lastIndexOf(".") + 1)];
    const section = found.get(parent);
    // A key within a section of its own schema (`limits`) keeps that schema's rule and gains the option's description.
    if (section instanceof z.ZodObject && key in section.shape) {
      found.set(parent, section.extend({ [key]: (section.shape[key] as z.ZodType).meta({ description }) }));
    } else {
      found.set(o.file.path, (o.file.schema ?? o.type.schema).meta({ description }));
    }
  }
  // Last, since extending a schema drops its description.
  for (const s of FILE_SECTIONS) {
    const schema = found.get(s.path);
    if (schema !== undefined && s.description !== undefined) found.set(s.path, schema.meta({ description: s.description }));
  }
  return found;
}

// The object of settings at `prefix`: each key its leaf's schema, or an object of the keys below it; all optional, no others.
function objectAt(prefix: string, found: Map<string, z.ZodType>): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const key of keysUnder(prefix)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const description = FILE_SECTIONS.find((s) => s.path === path)?.description;
    const object = objectAt(path, found);
    shape[key] = (found.get(path) ?? (description === undefined ? object : object.meta({ description }))).optional();
  }
  return z.strictObject(shape);
}

/**
 * The config file's schema, from the same table as the flags and variables:
 * each key is checked by the schema its option's flag value is checked by.
 * `$schema` may name this schema's JSON Schema for editors.
 */
export const CONFIG_FILE_SCHEMA: z.ZodObject = objectAt("", leaves()).extend({
  $schema: z.string().optional().meta({ description: "the JSON Schema editors check this file against" }),
});

/** The config file's JSON Schema (draft 2020-12), for editors: generated from CONFIG_FILE_SCHEMA, so it says what the server checks. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(CONFIG_FILE_SCHEMA, { io: "input", unrepresentable: "any" }),
    title: "edgemq configuration file",
    description: "The JSON file named by `edgemq --config` (or EDGEMQ_CONFIG). Flags override the environment, which overrides this file. Paths are relative to this file.",
  };
}

/** The JSON Schema as the committed `packages/server/config.schema.json` holds it (`npm run schema` writes it). */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
