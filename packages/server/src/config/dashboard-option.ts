import type { ServerOption } from "./server-option.ts";
import { SWITCH } from "./value-types.ts";

/**
 * `--dashboard` (EDGEMQ_DASHBOARD, the file's `admin.dashboard`) and
 * `--no-dashboard` (EDGEMQ_NO_DASHBOARD): whether the admin port serves the
 * web dashboard at `/`. On by default; the page can do nothing the API would
 * refuse, since it works only through the API with the token a user signs in with.
 */
export const DASHBOARD_OPTIONS: ServerOption<boolean>[] = [
  {
    name: "dashboard", type: SWITCH, env: "EDGEMQ_DASHBOARD", file: { path: "admin.dashboard" }, default: true, target: "admin.dashboard", section: "Admin API and tenants",
    help: "serve the web dashboard at / on the admin port (the default; config admin.dashboard)",
  },
  {
    name: "no-dashboard", type: SWITCH, env: "EDGEMQ_NO_DASHBOARD", target: "admin.dashboard", section: "Admin API and tenants",
    help: "do not serve the web dashboard: / on the admin port is then a 404",
  },
];
