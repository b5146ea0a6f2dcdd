//
// The will seam: who else keeps a client's will while it is in force. On one
// process nobody does (LocalWillKeeper): the broker publishes a will when its
// time comes. In a cluster an implementation records each will where the
// other nodes can read it, so that one of them publishes it if this node
// dies, and it decides when a will this node is about to publish really goes:
// at once, later (this node is cut off and cannot yet tell whether another
// node published it), or never (another node already did).
//
import type { Will } from "../codec/packets/connect.ts";
import type { ClientInfo } from "../model/client.ts";

/** What a will keeper may do to the broker it serves. */
export interface WillHandle {
  /** The will of `clientId` was published elsewhere: the one in force here (its connection's, or its session's pending one) is dropped. */
  dropWill(clientId: string): void;
  /** Publishes a will as its client's PUBLISH (a will another node recorded and that this node publishes for it). */
  publishWill(will: Will, client: ClientInfo): void;
}

/** The contract of a will keeper. */
export interface WillKeeper {
  /** Called once by the broker that uses it. */
  bind(handle: WillHandle): void;
  /**
   * `clientId` connected with `will`: it is in force from now on (replacing
   * any earlier one of that client id); once the connection is lost it waits
   * `delayMs` (its Will Delay Interval, or the session's expiry if sooner).
   */
  kept(clientId: string, will: Will, client: ClientInfo, delayMs: number): void;
  /** `clientId`'s connection ended and its will waits for its delay, until `publishAt` (milliseconds since the epoch). */
  waiting(clientId: string, publishAt: number): void;
  /** `clientId` has no will in force any more: discarded by a normal DISCONNECT, or cancelled by a new connection. */
  ended(clientId: string): void;
  /** `clientId`'s will is due: `publish` publishes it, and the keeper calls it at once, later, or never (published elsewhere). */
  release(clientId: string, publish: () => void): void;
}

/** One process: nothing to record, and a due will goes at once. */
export class LocalWillKeeper implements WillKeeper {
  /** Nothing to keep: no other node publishes this broker's wills. */
  bind(_handle: WillHandle): void {}
  /** Nothing to record. */
  kept(_clientId: string, _will: Will, _client: ClientInfo, _delayMs: number): void {}
  /** Nothing to record. */
  waiting(_clientId: string, _publishAt: number): void {}
  /** Nothing to record. */
  ended(_clientId: string): void {}
  /** At once. */
  release(_clientId: string, publish: () => void): void {
    publish();
  }
}
