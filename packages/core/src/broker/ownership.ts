//
// The session ownership seam: who holds a client id's session right now. On
// one process the broker always does (SingleNodeOwnership). In a cluster an
// implementation claims the session for this node before a connection
// attaches to it (compare-and-set on a shared record, say), and when another
// node claims a session held here it calls `fence` on the handle it was
// bound to: the local connection is taken over (DISCONNECT 0x8E) and the
// local copy let go.
//

/** What an ownership implementation may do to the broker it serves. */
export interface OwnershipHandle {
  /**
   * Another node now owns `clientId`'s session: the connection holding it
   * here gets DISCONNECT 0x8E (Session taken over) and the session is
   * forgotten here, without touching the store. Returns false when this
   * node held nothing for it.
   */
  fence(clientId: string): boolean;
}

/** The contract of a session ownership implementation. */
export interface SessionOwnership {
  /** Called once by the broker that uses it, before any claim. */
  bind(handle: OwnershipHandle): void;
  /**
   * Claims `clientId`'s session for this node, before a connection attaches
   * to it. `true`: this node holds it now. A promise: the CONNACK waits for
   * it, and a rejection refuses the connection (as a failed store commit
   * does); an implementation resolves once the claim is recorded and the
   * old holder fenced.
   */
  claim(clientId: string): true | Promise<unknown>;
  /** This node let the session go: it ended (expired, Clean Start, or discarded). */
  release(clientId: string): void;
}

/** One process: every session is this broker's, at once. */
export class SingleNodeOwnership implements SessionOwnership {
  /** Nothing to keep: no other node can take a session away. */
  bind(_handle: OwnershipHandle): void {}

  /** Always held here. */
  claim(_clientId: string): true {
    return true;
  }

  /** Nothing to tell anyone. */
  release(_clientId: string): void {}
}
