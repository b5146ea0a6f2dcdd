import { DEFAULT_LIMIT_CEILINGS, LIMIT_FIELDS } from "@edgemq/tenancy";
import { z } from "zod";
import type { ServerOption } from "./server-option.ts";
import { show, text, wholeNumberSchema } from "./value-types.ts";

// The file's ceilings: each limit by its API name, within the limit's own range.
const FILE_CEILINGS = z.strictObject(Object.fromEntries(LIMIT_FIELDS.map((f) => [f.name, wholeNumberSchema(f.min, f.max).optional()])));

/** `--tenant-ceiling <limit>=<n>` (repeatable) and the config file's `tenantCeilings`: the most a tenant broker may set a limit to. */
export const TENANT_CEILING_OPTION: ServerOption<string> = {
  name: "tenant-ceiling",
  type: text("<limit=n>", z.string().regex(/^[a-z_]+=\d+$/, { error: (i) => `takes <limit>=<n>, such as max_message_size=67108864, not ${show(i.input)}` })),
  repeatable: true,
  target: "tenantCeilings",
  section: "Admin API and tenants",
  file: { path: "tenantCeilings", schema: FILE_CEILINGS },
  help: [
    "the most a tenant broker may set a limit to, by API name (repeatable), e.g.",
    `max_message_size=67108864 (default ${DEFAULT_LIMIT_CEILINGS.max_message_size}; every default is in the README's Limits)`,
  ],
};
