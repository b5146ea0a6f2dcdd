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

/** What to do when a broker refuses a connection with this CONNACK code. */
export function connackHint(code: number): string {
  switch (code) {
    case 0x86: case ConnectReturnCode.BadUserNameOrPassword:
      return "check --credential or --password: it may be expired, mistyped, or issued by another broker";
    case 0x87: case ConnectReturnCode.NotAuthorized:
      return "the credential may be revoked (edgemq broker show-revocations), or this client is not allowed to connect";
    case 0x85: case ConnectReturnCode.IdentifierRejected:
      return "with --credential, leave --client-id out or give the credential's own client id";
    case 0x84: case ConnectReturnCode.UnacceptableProtocolVersion:
      return "try the other --mqtt-version (5 or 3.1.1)";
    case 0x88: case 0x89: case ConnectReturnCode.ServerUnavailable:
      return "the server cannot take the client now; try again later";
    default:
      return "";
  }
}
