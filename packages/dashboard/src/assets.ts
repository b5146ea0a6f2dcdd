import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One file the dashboard serves: its bytes and content type. */
export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** The files under static/, by name, that the dashboard serves (read once, when the app is made). */
export const ASSET_NAMES = ["index.html", "app.js", "api.js", "chart.js", "overview.js", "clients.js", "tenants.js", "broker.js", "client-detail.js", "broker-select.js", "retained.js", "sessions.js", "health.js", "try-it.js", "dom.js", "style.css"] as const;

/** Reads the dashboard's files from the package's static/ folder: plain files, no build step. */
export function readAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of ASSET_NAMES) {
    // Read through node:fs, which Node, Bun and Deno all provide.
    const body = readFileSync(new URL(`../static/${name}`, import.meta.url));
    assets.set(name, { body: new Uint8Array(body), type: TYPES[name.slice(name.lastIndexOf(".") + 1)]! });
  }
  const mqtt = mqttBundlePath();
  if (mqtt !== undefined) assets.set(MQTT_BUNDLE, { body: new Uint8Array(readFileSync(mqtt)), type: TYPES.js! });
  return assets;
}

/** The name the page loads mqtt.js's browser bundle by, for its "Try it" client (only when that page is used). */
export const MQTT_BUNDLE = "mqtt.min.js";

/**
 * Where mqtt.js's browser bundle is: static/mqtt.min.js in a packed package (prepack copies it there,
 * it is not in git), else the mqtt package's dist/ as the repository's node_modules has it; undefined
 * when neither is there, and the "Try it" page then says so.
 */
export function mqttBundlePath(): string | undefined {
  const packed = fileURLToPath(new URL(`../static/${MQTT_BUNDLE}`, import.meta.url));
  if (existsSync(packed)) return packed;
  try {
    // Its package.json, which mqtt's "exports" lists: dist/* there maps to *.js, so the bundle itself is not resolvable by name.
    const bundle = join(dirname(createRequire(import.meta.url).resolve("mqtt/package.json")), "dist", MQTT_BUNDLE);
    return existsSync(bundle) ? bundle : undefined;
  } catch {
    return undefined;
  }
}
