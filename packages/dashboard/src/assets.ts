import { readFileSync } from "node:fs";

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
export const ASSET_NAMES = ["index.html", "app.js", "api.js", "chart.js", "overview.js", "clients.js", "tenants.js", "broker.js", "client-detail.js", "broker-select.js", "retained.js", "dom.js", "style.css"] as const;

/** Reads the dashboard's files from the package's static/ folder: plain files, no build step. */
export function readAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of ASSET_NAMES) {
    // Read through node:fs, which Node, Bun and Deno all provide.
    const body = readFileSync(new URL(`../static/${name}`, import.meta.url));
    assets.set(name, { body: new Uint8Array(body), type: TYPES[name.slice(name.lastIndexOf(".") + 1)]! });
  }
  return assets;
}
