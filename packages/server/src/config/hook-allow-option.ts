import type { ServerOption } from "./server-option.ts";
import { text } from "./value-types.ts";

/** `--hook-allow <cidr|address|host>` (repeatable) and the config file's `hookAllow`: destinations on-publish hooks may post to despite the default denials. */
export const HOOK_ALLOW_OPTION: ServerOption<string> = {
  name: "hook-allow",
  type: text("<cidr|host>"),
  repeatable: true,
  target: "hookAllow",
  section: "Other",
  file: {
    path: "hookAllow",
    problem: (v) => (!Array.isArray(v) || v.some((e) => typeof e !== "string") ? 'hookAllow must be a list of addresses, CIDR ranges or host names, like ["10.1.2.0/24", "hooks.internal"]' : undefined),
  },
  help: [
    "let on-publish hooks post to this address, CIDR range or host name (repeatable);",
    "loopback, private, link-local and cloud metadata destinations are refused otherwise",
  ],
};
