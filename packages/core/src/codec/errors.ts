import { ReasonCode } from "./reason-codes.ts";

/**
 * An error that carries the MQTT reason code to answer it with and a stable
 * string code for programs and logs. The codec throws nothing else.
 */
export class MqttError extends Error {
  /** The reason code to send back (CONNACK, DISCONNECT or an ack). */
  readonly reasonCode: number;
  /** A stable identifier such as `MALFORMED_VARINT`, safe to match on. */
  readonly code: string;

  constructor(reasonCode: number, code: string, message: string) {
    super(message);
    this.name = "MqttError";
    this.reasonCode = reasonCode;
    this.code = code;
  }
}

/** A Malformed Packet (0x81): the bytes cannot be parsed as the spec says. */
export function malformed(code: string, message: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, code, message);
}

/** A Protocol Error (0x82): parseable bytes that the spec forbids. */
export function protocolError(code: string, message: string): MqttError {
  return new MqttError(ReasonCode.ProtocolError, code, message);
}
