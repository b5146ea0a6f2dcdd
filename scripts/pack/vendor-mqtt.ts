// The dashboard's pack step: `copy` puts mqtt.js's browser bundle into
// static/ for the tarball (the "Try it" page loads it from the server, never a
// CDN), `remove` takes it out again, so that it is never committed.
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const TARGET = "static/mqtt.min.js";
const mode = process.argv[2];
if (mode === "copy") {
  // mqtt's "exports" maps dist/* to *.js, so the bundle is found beside its package.json.
  const source = join(dirname(createRequire(join(process.cwd(), "package.json")).resolve("mqtt/package.json")), "dist", "mqtt.min.js");
  copyFileSync(source, TARGET);
} else if (mode === "remove") {
  rmSync(TARGET, { force: true });
} else {
  console.error("vendor-mqtt: say copy (prepack) or remove (postpack)");
  process.exit(2);
}
