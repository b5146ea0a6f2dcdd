import { join } from "node:path";

/** The package.json of the package being packed (npm runs pack scripts in its directory). */
export const MANIFEST = "package.json";

/** Where prepack keeps the repository's package.json while the tarball is made (git-ignored). */
export const BACKUP = "package.json.unpacked";

/** The repository's LICENSE, which every tarball carries a copy of. */
export const ROOT_LICENSE = join(import.meta.dirname, "../../LICENSE");

/** The copy in the package being packed (git-ignored; postpack removes it). */
export const LICENSE = "LICENSE";
