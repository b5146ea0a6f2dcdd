import { z } from "zod";
import type { ServerOption } from "./server-option.ts";
import { show, text } from "./value-types.ts";

const LIKE = 'a list of addresses, CIDR ranges or host names, like ["10.1.2.0/24", "hooks.internal"]';

/** `--hook-allow <cidr|address|host>` (repeatable) and the config file's `hookAllow`: destinations on-publish hooks may post to despite the default denials. */
export const HOOK_ALLOW_OPTION: ServerOption<string> = {
  name: "hook-allow",
  type: text("<cidr|host>"),
  repeatable: true,
  target: "hookAllow",
  section: "Other",
  // Each entry's form is checked with the flags' (hook-allow.ts), where the rule lives.
  file: { path: "hookAllow", schema: z.array(z.string(), { error: (i) => `must be ${LIKE}, got ${show(i.input)}` }) },
  help: [
    "let on-publish hooks post to this address, CIDR range or host name (repeatable);",
    "loopback, private, link-local and cloud metadata destinations are refused otherwise",
  ],
};
