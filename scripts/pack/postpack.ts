// `npm pack` / `npm publish` in a workspace package (its "postpack" script):
// puts back the repository's package.json that prepack.ts set aside and
// removes the LICENSE copy. dist/ stays (git-ignored) for a look at what was packed.
import { existsSync, renameSync, rmSync } from "node:fs";
import { BACKUP, LICENSE, MANIFEST } from "./paths.ts";

if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
rmSync(LICENSE, { force: true });
