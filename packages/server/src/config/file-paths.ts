import { isAbsolute, join } from "node:path";
import type { ConfigFile } from "./config-types.ts";

// A path written in the file, as seen from the file's folder; absolute ones stay as they are.
const from = (dir: string, path: string | undefined) => (path === undefined || isAbsolute(path) ? path : join(dir, path));

/**
 * The file's paths (data.dir, each listener's cert, key and ca, each admin
 * listener's cert and key, the cluster's NATS files) resolved against the folder of the file, `dir`:
 * a config file means the same wherever edgemq is started from.
 */
export function resolveFilePaths(file: ConfigFile, dir: string): ConfigFile {
  return {
    ...file,
    ...(file.data === undefined ? {} : { data: { ...file.data, dir: from(dir, file.data.dir) } }),
    ...(file.listeners === undefined ? {} : {
      listeners: file.listeners.map((l) => ({ ...l, cert: from(dir, l.cert), key: from(dir, l.key), ca: from(dir, l.ca) })),
    }),
    ...(file.cluster === undefined ? {} : {
      cluster: {
        ...file.cluster, creds: from(dir, file.cluster.creds), nkey: from(dir, file.cluster.nkey),
        ...(file.cluster.tls === undefined ? {} : { tls: { ca: from(dir, file.cluster.tls.ca), cert: from(dir, file.cluster.tls.cert), key: from(dir, file.cluster.tls.key) } }),
      },
    }),
    ...(file.admin?.listeners === undefined ? {} : {
      admin: { ...file.admin, listeners: file.admin.listeners.map((l) => ({ ...l, cert: from(dir, l.cert), key: from(dir, l.key) })) },
    }),
  };
}
