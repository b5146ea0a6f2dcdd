import type { ConnectPacket } from "../codec/packets/connect.ts";
import type { AuthPacket } from "../codec/packets/disconnect.ts";
import { ReasonCode } from "../codec/reason-codes.ts";
import type { AuthContinue } from "../policy/hook.ts";

/**
 * One connection's enhanced authentication (MQTT 5 AUTH, §4.12), made only
 * for a CONNECT that names an Authentication Method: the method, the step
 * that waits for the client's next AUTH, and the data for the CONNACK.
 */
export class AuthExchange {
  /** The Authentication Method of the CONNECT; re-authentication must use the same [MQTT-4.12.1-1]. */
  readonly method: string;
  /** The CONNECT being authenticated (until CONNACK). */
  connect: ConnectPacket | undefined;
  /** The step waiting for the client's next AUTH, if one does. */
  step: AuthContinue | undefined;
  /** Whether the step belongs to a re-authentication (AUTH 0x19) rather than to the CONNECT. */
  reauthenticating = false;
  /** When a re-authentication in progress must have finished (ms): the connect timeout bounds it as it bounds the first. */
  reauthDeadline = 0;
  /** Authentication Data for the CONNACK, from the hook that allowed the client. */
  finalData: Uint8Array | undefined;

  constructor(method: string, connect: ConnectPacket) {
    this.method = method;
    this.connect = connect;
  }

  /** The AUTH packet (0x18 Continue authentication) that asks the client for its next step. */
  challenge(step: AuthContinue): AuthPacket {
    this.step = step;
    return { type: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: this.method, authenticationData: step.data } };
  }

  /** The AUTH packet (0x00 Success) that ends a re-authentication. */
  success(data: Uint8Array | undefined): AuthPacket {
    return { type: "auth", reasonCode: ReasonCode.Success, properties: { authenticationMethod: this.method, authenticationData: data } };
  }

  /**
   * Takes the client's AUTH answer to the waiting step: the step to call with
   * its data, or 0x82 Protocol Error (a reason other than 0x18 Continue
   * authentication, another method, or no step waiting).
   */
  answer(p: AuthPacket): AuthContinue | number {
    const step = this.step;
    if (step === undefined || p.reasonCode !== ReasonCode.ContinueAuthentication) return ReasonCode.ProtocolError;
    if (p.properties?.authenticationMethod !== this.method) return ReasonCode.ProtocolError; // the method of the CONNECT [MQTT-4.12.1-1]
    this.step = undefined;
    return step;
  }
}
