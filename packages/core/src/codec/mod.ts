/**
 * @module
 * The MQTT 5.0 / 3.1.1 / 3.1 codec: packets to bytes and back, a streaming
 * frame decoder, and errors that carry their MQTT reason code.
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./reason-codes.ts";
export * from "./properties.ts";
export * from "./topic.ts";
export * from "./utf8.ts";
export * from "./packet.ts";
export * from "./frame.ts";
export { Reader } from "./reader.ts";
export { Writer, varintLength } from "./writer.ts";
export type * from "./packets/connect.ts";
export type * from "./packets/connack.ts";
export type * from "./packets/publish.ts";
export type * from "./packets/ack.ts";
export type * from "./packets/subscribe.ts";
export type * from "./packets/suback.ts";
export type * from "./packets/unsubscribe.ts";
export type * from "./packets/ping.ts";
export type * from "./packets/disconnect.ts";
