import type { CommandSpec, GroupSpec } from "../spec.ts";
import { BROKER_GROUP } from "./broker.ts";
import { completionCommand } from "./completion.ts";
import { NAMESPACE_GROUP } from "./namespace.ts";
import { PUB_COMMAND } from "./pub.ts";
import { SERVE_COMMAND } from "./serve.ts";
import { SUB_COMMAND } from "./sub.ts";
import { TOKEN_GROUP } from "./token.ts";

/** The command groups, in the order help lists them. */
export const GROUPS: readonly GroupSpec[] = [NAMESPACE_GROUP, BROKER_GROUP, TOKEN_GROUP];

/** The commands that stand alone, without a group word. */
export const SINGLE_COMMANDS: readonly CommandSpec[] = [
  SERVE_COMMAND, PUB_COMMAND, SUB_COMMAND,
  completionCommand(() => ({ groups: GROUPS, singles: SINGLE_COMMANDS })),
];
