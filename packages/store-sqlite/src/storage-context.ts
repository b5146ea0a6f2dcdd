import type { RowChecksum } from "./checksum.ts";
import type { CommitQueue } from "./commit-queue.ts";
import type { OutgoingRows } from "./outgoing-rows.ts";
import type { Statements } from "./statements.ts";

/** What every store over one database shares: its statements, its one commit queue, the outgoing rows. */
export interface StorageContext {
  readonly sql: Statements;
  readonly queue: CommitQueue;
  readonly ck: RowChecksum;
  readonly outgoing: OutgoingRows;
  /** The database file (`:memory:` in memory mode), for error messages. */
  readonly path: string;
  /** Whether data survives the process. */
  readonly durable: boolean;
  /** When the previous process was last known alive (ms since the epoch), read at open; undefined for a new database. */
  readonly downSince: number | undefined;
}
