/**
 * What an attach's commit rejects with to refuse the CONNECT with a reason
 * code of its own rather than 0x89 Server busy: a cluster's claim of a
 * session that belongs to another identity (0x87 Not authorized), say.
 */
export class ConnectRefused extends Error {
  /** The CONNACK reason code (3.1.1 clients get its return code). */
  readonly reasonCode: number;

  constructor(reasonCode: number, reason: string) {
    super(reason);
    this.reasonCode = reasonCode;
  }
}
