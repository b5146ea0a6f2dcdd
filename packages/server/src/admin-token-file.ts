import { mkdtempSync, openSync, closeSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** Where a generated admin API token went: a file (its path), or the terminal. */
export type TokenDelivery = { file: string } | { terminal: true };

/** What delivering the token may touch; defaults to this process's stderr and the file system. */
export interface TokenDeliveryHost {
  /** Whether stderr is a terminal (only the operator reads it, never a log collector). */
  stderrIsTerminal?: boolean;
  /** Writes text to the terminal, bypassing the logger. */
  writeTerminal?(text: string): void;
}

/**
 * Hands a freshly generated admin API token to the operator without writing it
 * into the log stream: to `<dataDir>/admin-token` (mode 0600) when there is a
 * data directory; else to the terminal when stderr is one; else to a 0600 file
 * in a fresh 0700 temporary directory. The caller logs where it went.
 */
export function deliverAdminToken(token: string, dataDir: string | undefined, host: TokenDeliveryHost = {}): TokenDelivery {
  if (dataDir !== undefined) return { file: writeSecretFile(join(dataDir, "admin-token"), token) };
  const isTerminal = host.stderrIsTerminal ?? process.stderr.isTTY === true;
  if (isTerminal) {
    const write = host.writeTerminal ?? ((text: string) => process.stderr.write(text));
    write(`edgemq: admin API token (Admin, all namespaces; shown once, keep it): ${token}\n`);
    return { terminal: true };
  }
  // mkdtemp creates the directory with mode 0700: nobody else may list or open what is in it.
  const dir = mkdtempSync(join(tmpdir(), "edgemq-"));
  return { file: writeSecretFile(join(dir, "admin-token"), token) };
}

/** The log line that says where the token went (never the token itself). */
export function tokenDeliveryLine(delivery: TokenDelivery): string {
  return "file" in delivery
    ? `edgemq: admin API token (Admin, all namespaces) written to ${delivery.file} (mode 0600)`
    : "edgemq: admin API token (Admin, all namespaces) shown once on the terminal, not logged";
}

// Created fresh: an old file (or a link planted in its place) is removed first,
// and O_EXCL with mode 0600 means no one else ever could open the new one.
function writeSecretFile(path: string, secret: string): string {
  rmSync(path, { force: true });
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, `${secret}\n`);
  } finally {
    closeSync(fd);
  }
  return path;
}
