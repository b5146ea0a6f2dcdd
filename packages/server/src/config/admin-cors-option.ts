import { z } from "zod";
import type { ServerOption } from "./server-option.ts";
import { list, show } from "./value-types.ts";

// An origin as browsers send it: scheme, host and perhaps port, nothing after.
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === text;
  } catch {
    return false;
  }
}

/** One allowed origin: `https://ops.example.com`, or `*` for any. */
const ORIGIN = z.string().refine((o) => o === "*" || isOrigin(o), {
  error: (i) => `must be an origin (scheme://host[:port] with nothing after it, such as https://ops.example.com) or *, got ${show(i.input)}`,
});

/** `--admin-cors-origin <origin>` (repeatable, or a comma list), EDGEMQ_ADMIN_CORS_ORIGIN and the file's `admin.corsOrigins`: browser pages the admin API answers. */
export const ADMIN_CORS_OPTION: ServerOption<string[]> = {
  name: "admin-cors-origin",
  type: list("<origin>", ORIGIN),
  repeatable: true,
  env: "EDGEMQ_ADMIN_CORS_ORIGIN",
  file: { path: "admin.corsOrigins" },
  default: [],
  target: "admin.corsOrigins",
  section: "Admin API and tenants",
  help: ["let browser pages from this origin call the admin API (repeatable or comma-separated,", "e.g. https://ops.example.com; * for any; default: none)"],
};
