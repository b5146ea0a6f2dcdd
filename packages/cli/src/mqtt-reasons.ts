import { ConnectReturnCode, ReasonCode } from "@edgemq/core/codec";

// "NotAuthorized" -> "not authorized", "QoSNotSupported" -> "QoS not supported".
function words(key: string): string {
  return key.replace(/QoS/g, "Qos").replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().replace(/\bqos\b/g, "QoS");
}

const V5 = new Map<number, string>();
for (const [key, code] of Object.entries(ReasonCode)) if (!V5.has(code)) V5.set(code, words(key));
const V3 = new Map<number, string>(Object.entries(ConnectReturnCode).map(([key, code]) => [code, words(key)]));

/** `not authorized (0x87)`: a reason code in MQTT's words; codes below 0x80 on a CONNACK are MQTT 3.1.1 return codes. */
export function reasonText(code: number, connack = false): string {
  const name = (connack && code < 0x80 ? V3.get(code) : V5.get(code)) ?? "unknown reason";
  return `${name} (0x${code.toString(16).padStart(2, "0")})`;
}

/** What the CLI knows about a refused connection, to say what is really wrong. */
export interface ConnectRefusal {
  /** The CONNACK's reason code (MQTT 5) or return code (3.1.1). */
  code: number;
  /** The broker's reason string, when it sent one (MQTT 5). */
  reason?: string;
  /** The client id the CLI sent. */
  clientId: string;
  /** Whether a credential was sent as the password. */
  credential: boolean;
}

// MQTT 3.1.1 promises only 23 bytes of client id [MQTT-3.1.3-5]; longer ones are refused by brokers that keep to it.
const PORTABLE_CLIENT_ID = 23;

// Why a client id was refused: too long for the broker, or not the one the credential was issued for.
function clientIdHint(r: ConnectRefusal): string {
  const length = new TextEncoder().encode(r.clientId).byteLength;
  const max = /longer than (\d+)/.exec(r.reason ?? "")?.[1];
  if (max !== undefined || (r.reason === undefined && length > PORTABLE_CLIENT_ID)) {
    const limit = max !== undefined ? `this broker allows at most ${max} (its max_client_id_length limit)` : `brokers may allow as few as ${PORTABLE_CLIENT_ID} (edgemq's max_client_id_length limit)`;
    return `the client id "${r.clientId}" is ${length} bytes and ${limit}: ${r.credential ? "issue a credential with a shorter --client-id (edgemq broker issue generates ids that fit)" : "give a shorter -i"}`;
  }
  if (r.credential) return `the client id must be the credential's own: leave -i out, or give the client id it was issued for`;
  return "give another -i";
}

/** What to do when a broker refuses a connection, from its code, reason string and what was sent. */
export function connackHint(r: ConnectRefusal): string {
  // MQTT 3.1.1's return codes are below 0x80 and MQTT 5's refusals above, so one switch reads both.
  switch (r.code) {
    case 0x86: case ConnectReturnCode.BadUserNameOrPassword:
      return "check --credential or -P: it may be expired, mistyped, or issued by another broker";
    case 0x87: case ConnectReturnCode.NotAuthorized:
      return /revoked/.test(r.reason ?? "")
        ? "issue a new credential (edgemq broker issue), or lift the revocation (edgemq broker unrevoke)"
        : "the credential may be revoked (edgemq broker show-revocations), or this client is not allowed to connect";
    case 0x85: case ConnectReturnCode.IdentifierRejected:
      return clientIdHint(r);
    case 0x84: case ConnectReturnCode.UnacceptableProtocolVersion:
      return "try the other -V (5 or 311)";
    case 0x88: case 0x89: case ConnectReturnCode.ServerUnavailable:
      return "the server cannot take the client now; try again later";
    default:
      return "";
  }
}
