import { DEFAULT_LIMIT_CEILINGS } from "@edgemq/tenancy";
import type { ServerOption } from "./server-option.ts";
import { text } from "./value-types.ts";

/** `--tenant-ceiling <limit>=<n>` (repeatable) and the config file's `tenantCeilings`: the most a tenant broker may set a limit to. */
export const TENANT_CEILING_OPTION: ServerOption<string> = {
  name: "tenant-ceiling",
  type: text("<limit=n>"),
  repeatable: true,
  target: "tenantCeilings",
  section: "Admin API and tenants",
  file: {
    path: "tenantCeilings",
    problem: (v) => (typeof v !== "object" || v === null || Array.isArray(v) ? 'tenantCeilings must be an object, like {"max_message_size": 16777216}' : undefined),
  },
  help: [
    "the most a tenant broker may set a limit to, by API name (repeatable), e.g.",
    `max_message_size=67108864 (default ${DEFAULT_LIMIT_CEILINGS.max_message_size}; every default is in the README's Limits)`,
  ],
};
