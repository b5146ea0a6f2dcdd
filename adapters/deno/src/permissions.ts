// Deno refuses what its command line did not allow with a NotCapable error.
// edgemq wraps errors in its own (a data directory that "cannot be created"),
// which would blame the file system; this finds Deno's refusal under them.

/** The flags `deno task start` runs edgemq with: everything it may need, --data included (see the README). */
export const DENO_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"] as const;

const REFUSAL = /^Requires (\w+) access(?: to (.+?))?, run again with the (--allow-[\w-]+) flag/;

/**
 * One line for a permission Deno refused, found in the error or its causes:
 * `Deno denied write access to "/var/lib/edgemq": run with --allow-write or
 * use \`deno task start\`, …`; undefined for any other error.
 */
export function explainDenoPermission(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name !== "NotCapable") continue;
    const m = REFUSAL.exec(e.message);
    const what = m ? `${m[1]} access${m[2] === undefined ? "" : ` to ${m[2]}`}` : e.message;
    const flag = m ? m[3] : "the --allow-… flag it names";
    return `Deno denied ${what}: run with ${flag} or use \`deno task start\`, which grants what edgemq needs (${DENO_PERMISSIONS.join(" ")})`;
  }
  return undefined;
}
