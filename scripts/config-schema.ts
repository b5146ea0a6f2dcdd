// `npm run schema`: writes packages/server/config.schema.json, the config file's
// JSON Schema for editors, from the zod schema the server checks the file with.
// test/unit/config-schema.test.ts fails when the committed file differs, so run
// this after changing an option or a section of the file, and commit the result.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configJsonSchemaText } from "@edgemq/server";

const path = join(import.meta.dirname, "..", "packages", "server", "config.schema.json");
writeFileSync(path, configJsonSchemaText());
console.log(`wrote ${path}`);
