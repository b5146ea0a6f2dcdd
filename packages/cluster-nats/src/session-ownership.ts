import {
  type ClaimRequest, ConnectRefused, type OwnershipHandle, ReasonCode, type SessionHandover, type SessionOwnership, type SessionRecord,
} from "@edgemq/core";
import type { KV, KvEntry } from "@nats-io/kv";
import type { HandedOver } from "./handover-codec.ts";
import type { ReadHeld } from "./held-qos2.ts";
import { checkpointOf, goneBacklog, readHeldOf } from "./gone-owner-reads.ts";
import { lostRace } from "./kv-cas.ts";
import type { Qos2Marks } from "./qos2-marks.ts";
import type { BacklogPosition, BacklogSource } from "./message-backlog.ts";
import { type Checkpoint, checkpointKey, fromRecord, identityHash, live, type OwnerRecord, sessionKey } from "./owner-record.ts";

/** A claim that lost this many compare-and-set races in a row is refused (CONNACK 0x89 Server busy). */
export const CLAIM_ATTEMPTS = 5;
/** A client id taken over from another node less than this long ago waits until it has passed before it is taken again (flap damping). */
export const TAKEOVER_DAMPING_MS = 1000;
/** A node writes where its connected lasting sessions stand at most this often (it notes it more often: see SessionOwners). */
export const CHECKPOINT_WRITE_MS = 1000;
/** The longest a claim that resumes a session from another node holds this node's checkpoints back (until its backlog is being read). */
export const CHECKPOINT_PAUSE_MS = 10_000;
/** How long a claim waits for the previous owner node to say it fenced its connection. */
export const FENCE_WAIT_MS = 1000;

/** What {@link OwnershipNode.fenceRemote} resolves with when the previous owner node did not answer (gone, or not in time). */
export const UNANSWERED = Symbol("unanswered");

/** What one broker's ownership needs of the node (see SessionOwners). */
export interface OwnershipNode {
  readonly kv: KV;
  readonly nodeId: string;
  readonly incarnation: number;
  readonly connected: boolean;
  /**
   * Asks node `incarnation` to fence `clientId` of `broker` for the claim at
   * `revision` (handing its session over when `resume`); resolves with the
   * session it handed over, or undefined when it had none, is gone or could
   * not answer in time.
   */
  fenceRemote(incarnation: number, broker: string, clientId: string, revision: number, resume: boolean): Promise<HandedOver | undefined | typeof UNANSWERED>;
  /** A claim was accepted locally (NATS or JetStream not answering): told once, and claimed again once they answer. */
  claimedLocally(): void;
  /** One broker's routing here, for its sessions' backlogs (undefined: none is kept). */
  backlogOf(broker: string): BacklogSource | undefined;
  /** What run `incarnation` held of one session's QoS 2 exchanges (see held-qos2.ts). */
  readHeld(broker: string, clientId: string, incarnation: number): Promise<ReadHeld>;
  /** Deletes a gone run's held keys, once their session is taken. */
  dropHeld(keys: readonly string[]): void;
  /** One session's QoS 2 marks here (see Qos2Marks). */
  marksOf(broker: string, clientId: string): Qos2Marks | undefined;
  /** A session taken from another node brings its QoS 2 marks: this node's from now on. */
  inheritMarks(broker: string, clientId: string, marks: Qos2Marks): void;
  /** Tells the operator something. */
  report(level: "info" | "warn" | "error", text: string): void;
}



/**
 * One broker's session ownership in a cluster: a client id's owner is a
 * record in the sessions KV bucket, claimed by compare-and-set on its
 * revision (created when absent, else updated at the revision read), so two
 * nodes racing end with one owner; the node it was taken from is told to
 * fence (DISCONNECT 0x8E). A client id's claims, releases and fences run one
 * after another on this node; per id it keeps only the revision it holds.
 */
export class NatsOwnership implements SessionOwnership {
  readonly #node: OwnershipNode;
  readonly #broker: string;
  #handle: OwnershipHandle | undefined;
  // Each client id this node holds: the revision of the record it wrote (0: held while NATS was away, unrecorded),
  // and what its claim wrote (which a session record's update keeps).
  readonly #held = new Map<string, { revision: number; claim: OwnerRecord | undefined }>();
  // The position the last checkpoint wrote, and when.
  #checkpointed: BacklogPosition | undefined;
  #checkpointedAt = 0;
  // Claims under way that resume a session from another node, which write no checkpoint meanwhile (see #claim).
  #paused = 0;
  // The last operation still running on each client id: the next one waits for it.
  readonly #busy = new Map<string, Promise<void>>();

  constructor(node: OwnershipNode, broker: string) {
    this.#node = node;
    this.#broker = broker;
  }

  bind(handle: OwnershipHandle): void {
    this.#handle = handle;
  }

  /**
   * Resolves once the bucket names this node (the previous owner node
   * fenced), with the session that node handed over when `resume`; rejects
   * after {@link CLAIM_ATTEMPTS} lost races.
   */
  claim(clientId: string, request: ClaimRequest): Promise<SessionHandover | undefined> {
    let handover: SessionHandover | undefined;
    return this.#serially(clientId, async () => {
      handover = await this.#claim(clientId, request);
    }).then(() => handover);
  }

  /** Deletes the record if it is still this node's (compare-and-set: a newer claim elsewhere stays). */
  release(clientId: string): void {
    void this.#serially(clientId, async () => {
      const revision = this.#held.get(clientId)?.revision;
      this.#held.delete(clientId);
      if (revision === undefined || revision === 0 || !this.#node.connected) return;
      await this.#node.kv.delete(sessionKey(this.#broker, clientId), { previousSeq: revision }).catch(() => {});
    });
  }

  /**
   * Another node's claim at `revision` took `clientId`: unless this node
   * claimed it again since (a later revision), its connection is taken over
   * and its local session forgotten; resolves with the session handed over
   * when the claim `resume`s it (and this node held one).
   */
  fenced(clientId: string, revision: number, resume: boolean): Promise<HandedOver | undefined> {
    let handed: HandedOver | undefined;
    return this.#serially(clientId, async () => {
      // A CONNACK this node's claim just allowed goes out first: its client is then told 0x8E, not cut off before CONNACK.
      await new Promise((r) => setImmediate(r));
      const held = this.#held.get(clientId)?.revision;
      if (held !== undefined && held > revision) return;
      this.#held.delete(clientId);
      // Read before the session goes (its store forgets them then).
      const sent = this.#node.marksOf(this.#broker, clientId);
      const handover = this.#handle?.handOver(clientId, resume);
      if (handover !== undefined) handed = { handover, sent };
    }).then(() => handed);
  }

  /**
   * Claims the client ids held while NATS was away, now that it is back
   * (those another node claimed meanwhile are fenced here); resolves with how
   * many are still unrecorded (NATS not answering yet).
   */
  async reconcile(): Promise<number> {
    const runs: Promise<void>[] = [];
    for (const [clientId, { revision }] of this.#held) {
      if (revision !== 0) continue;
      runs.push(this.#serially(clientId, async () => {
        if (this.#held.get(clientId)?.revision !== 0) return;
        const key = sessionKey(this.#broker, clientId);
        const entry = await this.#node.kv.get(key).catch(() => undefined);
        if (entry === undefined) return; // JetStream not answering yet: tried again
        const owner = entry === null ? undefined : live(entry);
        if (owner !== undefined && !this.#mine(owner)) {
          // Claimed through NATS while this node could not tell: that claim wins.
          this.#held.delete(clientId);
          this.#handle?.fence(clientId);
          return;
        }
        // Its connection is attached here already: the other node's copy is dropped, not brought over
        // (and its owner not checked: the connection was accepted while no node could tell).
        await this.#claim(clientId, { resume: false, identity: undefined, ownerOnly: false }).catch(() => {});
      }));
    }
    await Promise.all(runs);
    let left = 0;
    for (const { revision } of this.#held.values()) if (revision === 0) left++;
    return left;
  }

  async #claim(clientId: string, request: ClaimRequest): Promise<SessionHandover | undefined> {
    const node = this.#node;
    const key = sessionKey(this.#broker, clientId);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      if (!node.connected) return void this.#local(clientId);
      let entry: KvEntry | null;
      try {
        entry = await node.kv.get(key);
      } catch {
        // NATS away, or JetStream without a leader for the bucket (a NATS server just died): as while NATS is away.
        return void this.#local(clientId);
      }
      const owner = entry === null ? undefined : live(entry);
      const elsewhere = owner !== undefined && !this.#mine(owner);
      const claimant = identityHash(request.identity);
      // Sessions belong to their user, on every node (one node refuses it in admitConnect).
      if (elsewhere && request.ownerOnly && owner.owner !== undefined && owner.owner !== claimant) {
        throw new ConnectRefused(ReasonCode.NotAuthorized, "this client id's session belongs to another user");
      }
      // A client id passed between nodes again within a second: wait out the second (two clients sharing one id must not loop fast).
      if (elsewhere && owner.takeover) {
        const wait = (owner.takenAt ?? entry!.created.getTime()) + TAKEOVER_DAMPING_MS - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, TAKEOVER_DAMPING_MS)));
      }
      const claim: OwnerRecord = { node: node.nodeId, incarnation: node.incarnation, takeover: elsewhere, owner: claimant, takenAt: elsewhere ? Date.now() : undefined };
      const value = JSON.stringify(claim);
      let revision: number;
      // From the moment this node's claim is written, its checkpoint speaks for the session: none is written until
      // what it missed is being read (which then holds the checkpoint back), or this node would say it had it.
      const resumed = elsewhere && request.resume ? this.#pauseCheckpoints() : undefined;
      try {
        revision = entry === null ? await node.kv.create(key, value) : await node.kv.update(key, value, entry.revision);
      } catch (e) {
        resumed?.();
        if (lostRace(e)) continue; // another node wrote first: read again
        return void this.#local(clientId);
      }
      try {
        return await this.#takeFrom(clientId, request, entry, owner, elsewhere, revision, claim, resumed);
      } catch (e) {
        resumed?.();
        throw e;
      }
    }
    throw new Error(`client id ${clientId} was claimed by other nodes ${CLAIM_ATTEMPTS} times while this node tried`);
  }

  // The rest of a claim once written: the previous owner node fenced, and the session it held brought along (from it, or
  // from its record when it is gone). `read` is called once what the session missed is being read (or when nothing is).
  async #takeFrom(
    clientId: string, request: ClaimRequest, entry: KvEntry | null, owner: OwnerRecord | undefined, elsewhere: boolean, revision: number,
    claim: OwnerRecord, read: (() => void) | undefined,
  ): Promise<SessionHandover | undefined> {
    const node = this.#node;
    this.#held.set(clientId, { revision, claim });
    if (!elsewhere || owner === undefined) return void read?.();
    const handed = await node.fenceRemote(owner.incarnation, this.#broker, clientId, revision, request.resume);
    if (handed !== UNANSWERED) {
      read?.(); // handed over whole, with its queue: nothing is read
      if (handed?.sent !== undefined) node.inheritMarks(this.#broker, clientId, handed.sent);
      return handed?.handover;
    }
    // The node that held it is gone (or did not answer in time): the session resumes from its last record,
    // without what that node had queued for it. Not from a run of this same node: its own store knows better.
    if (!request.resume || owner.node === node.nodeId) return void read?.();
    const resumed = fromRecord(owner.session, entry!.created.getTime());
    if (resumed === undefined) return void read?.();
    // Offline, its record says where it stood; connected, its node's last checkpoint says (or, without one, its record's time).
    const position = owner.session?.disconnectedAt !== undefined ? owner.position : await checkpointOf(node, this.#broker, owner, entry!.created.getTime());
    // Its QoS 2 exchanges carry on from where that node left them: the same packet ids, not new copies.
    const held = await readHeldOf(this.#node, this.#broker, owner, clientId);
    if (held !== undefined) {
      resumed.outgoing = held.outgoing;
      resumed.inboundQos2 = held.inboundQos2;
      node.inheritMarks(this.#broker, clientId, held.sent);
    }
    const backlog = goneBacklog(node, this.#broker, owner, position, held?.sent);
    // Read at once when the broker asks, as it subscribes the session: what reaches the session live from then on must
    // be known to the read (waiting behind this id's other operations, such as the record's write, would let some pass
    // unnoticed, and come twice). A fence of this id waits until what it missed is queued: handed over half read, the
    // rest would go nowhere.
    if (backlog === undefined) {
      read?.();
      return resumed;
    }
    resumed.backlog = (deliver) => {
      const reading = backlog(deliver);
      read?.(); // the read holds the checkpoint back from now on
      return this.#serially(clientId, () => reading.then(() => {}));
    };
    return resumed;
  }

  // Stops writing checkpoints until the function returned is called (once), or at most CHECKPOINT_PAUSE_MS.
  #pauseCheckpoints(): () => void {
    this.#paused++;
    let done = false;
    const resume = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#paused--;
    };
    const timer = setTimeout(resume, CHECKPOINT_PAUSE_MS);
    return resume;
  }

  /**
   * Keeps a lasting session's record in its client id's entry, at the
   * revision this node holds (compare-and-set: once another node claimed the
   * id, this node's records go nowhere).
   */
  recordSession(record: SessionRecord): Promise<void> {
    const clientId = record.clientId;
    // Gone offline: where it stands now (not once the writes before this one are done, by when more may have come),
    // so that another node can read what it misses should this one die.
    const position = record.disconnectedAt === undefined ? undefined : this.#node.backlogOf(this.#broker)?.position();
    return this.#serially(clientId, async () => {
      const held = this.#held.get(clientId);
      if (held === undefined || held.revision === 0 || held.claim === undefined || !this.#node.connected) return;
      const { revision, claim } = held;
      const session: SessionRecord = { ...record, will: undefined, willAt: undefined }; // wills have their own bucket
      try {
        held.revision = await this.#node.kv.update(sessionKey(this.#broker, clientId), JSON.stringify({ ...claim, session, position } satisfies OwnerRecord), revision);
      } catch {
        // Claimed by another node meanwhile (which fences this one), or NATS away: the node's own store still has it.
      }
    });
  }

  /**
   * Takes over the session in `entry` (`owner` names a node that is gone) by
   * compare-and-set, and keeps it here offline from its record; false when
   * another node (or its returning client) took it first, or this node
   * holds that client id already.
   */
  takeOverGone(entry: KvEntry, owner: OwnerRecord): Promise<boolean> {
    const record = owner.session!;
    const clientId = record.clientId;
    let adopted = false;
    return this.#serially(clientId, async () => {
      const node = this.#node;
      if (this.#held.has(clientId) || !node.connected) return;
      // Not a takeover by a client: a returning client is not damped.
      const claim: OwnerRecord = { node: node.nodeId, incarnation: node.incarnation, takeover: false, adopted: true, owner: owner.owner };
      let revision: number;
      try {
        // Its position stays: should this node die too, the next one reads from where the client left.
        revision = await node.kv.update(entry.key, JSON.stringify({ ...claim, session: record, position: owner.position } satisfies OwnerRecord), entry.revision);
      } catch {
        return; // another survivor, or the client back on some node, was first
      }
      this.#held.set(clientId, { revision, claim });
      // A claim of this id waits until what it missed is queued: handed over half read, the rest would go nowhere.
      let read: Promise<unknown> | undefined;
      const held = await readHeldOf(this.#node, this.#broker, owner, clientId);
      if (held !== undefined) node.inheritMarks(this.#broker, clientId, held.sent);
      const backlog = goneBacklog(node, this.#broker, owner, owner.position, held?.sent);
      adopted = this.#handle?.adopt(record, backlog && ((deliver) => (read = backlog(deliver))), held) ?? false;
      await read;
    }).then(() => adopted);
  }

  /**
   * Writes where this node's connected lasting sessions stand in the messages
   * stream (see NatsRouting.checkpoint), should this node die: one KV write
   * per broker and checkpoint, none while no lasting session is connected.
   */
  async checkpoint(): Promise<void> {
    const node = this.#node;
    const summary = this.#handle?.pending();
    const source = node.backlogOf(this.#broker);
    if (summary === undefined || summary.connected === 0 || source === undefined || !node.connected || this.#paused > 0) return;
    const position = source.checkpoint(summary.oldest);
    // The same note as last time: nothing new to say; and one write a second is enough.
    if (position === this.#checkpointed || Date.now() - this.#checkpointedAt < CHECKPOINT_WRITE_MS) return;
    this.#checkpointedAt = Date.now();
    const value: Checkpoint = { checkpoint: true, node: node.nodeId, incarnation: node.incarnation, position };
    await node.kv.put(checkpointKey(this.#broker, node.nodeId, node.incarnation), JSON.stringify(value)).then(
      () => void (this.#checkpointed = position),
      () => {}, // JetStream not answering: the next checkpoint tries again
    );
  }

  /** This node stops (its clients are gone, their sessions recorded offline): its checkpoint is no longer needed. */
  dropCheckpoint(): void {
    if (this.#checkpointed === undefined || !this.#node.connected) return;
    this.#checkpointed = undefined;
    void this.#node.kv.delete(checkpointKey(this.#broker, this.#node.nodeId, this.#node.incarnation)).catch(() => {});
  }

  // NATS (or JetStream) is away: the connection is accepted here (as part 1 keeps serving local clients), and claimed once it is back.
  #local(clientId: string): void {
    this.#held.set(clientId, { revision: 0, claim: undefined });
    this.#node.claimedLocally();
  }

  #mine(owner: OwnerRecord): boolean {
    return owner.incarnation === this.#node.incarnation && owner.node === this.#node.nodeId;
  }

  // Runs `op` after every earlier operation on `clientId`; the id's entry goes once nothing waits.
  #serially(clientId: string, op: () => Promise<void>): Promise<void> {
    const before = this.#busy.get(clientId);
    const run = before === undefined ? op() : before.then(op, op);
    const tail = run.catch(() => {});
    this.#busy.set(clientId, tail);
    void tail.then(() => {
      if (this.#busy.get(clientId) === tail) this.#busy.delete(clientId);
    });
    return run;
  }
}
