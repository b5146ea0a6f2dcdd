import { DEFAULT_LIMITS, type Limits } from "@edgemq/core";
import type { ServerOption } from "./server-option.ts";
import { wholeNumber } from "./value-types.ts";

// Any limit a flag sets fits in 32 bits; narrower ranges are checked once all are in (build-config.ts).
const LIMIT = { min: 0, max: 0xffffffff };

// A limit's flag: its help ends with its default ("0: none" where 0 turns it off),
// and the config file sets it under "limits" by its config key.
function limit(name: string, key: keyof Limits, placeholder: string, help: string): ServerOption<number> {
  const d = DEFAULT_LIMITS[key] as number;
  return {
    name,
    type: wholeNumber(LIMIT.min, LIMIT.max, placeholder),
    file: { path: `limits.${key}` },
    default: d,
    target: `limits.${key}`,
    section: "Broker",
    help: `${help} (default ${d === 0 ? "0: none" : d})`,
  };
}

/** The flags of the broker's limits, one per limit a flag may set (the config file's "limits" takes every limit). */
export const LIMIT_OPTIONS: readonly ServerOption<number>[] = [
  limit("max-packet-size", "maximumPacketSize", "<bytes>", "largest packet accepted"),
  limit("max-keepalive", "maximumKeepAlive", "<s>", "keep alive cap sent as Server Keep Alive"),
  limit("receive-maximum", "receiveMaximum", "<n>", "unacknowledged QoS 1/2 messages per client"),
  limit("max-queued", "maximumQueuedMessages", "<n>", "messages queued per session"),
  limit("connect-timeout", "connectTimeout", "<s>", "seconds to wait for CONNECT"),
  limit("sys-interval", "sysInterval", "<s>", "seconds between $SYS updates, 0 for none"),
  limit("max-packets-per-second", "maximumPacketsPerSecond", "<n>", "per client, else DISCONNECT 0x96"),
  limit("max-bytes-per-second", "maximumBytesPerSecond", "<n>", "per client, else DISCONNECT 0x96"),
  limit("max-topic-length", "maximumTopicLength", "<n>", "longest topic"),
  limit("max-topic-levels", "maximumTopicLevels", "<n>", "most topic levels"),
  limit("max-client-id-length", "maximumClientIdLength", "<n>", "longest client id, else CONNACK 0x85"),
  limit("max-connections", "maximumConnections", "<n>", "clients connected at once, else CONNACK 0x97"),
  limit("max-sessions", "maximumSessions", "<n>", "sessions held, connected or not; a new one beyond it gets CONNACK 0x97"),
  limit("max-subscriptions-per-client", "maximumSubscriptionsPerClient", "<n>", "else SUBACK 0x97"),
  limit("max-subscribers-per-topic", "maximumSubscribersPerTopic", "<n>", "clients on one filter, else SUBACK 0x97"),
  limit("max-retained-messages", "maximumRetainedMessages", "<n>", "else PUBACK 0x97"),
  limit("max-retained-bytes", "maximumRetainedBytes", "<n>", "retained payload bytes, else PUBACK 0x97"),
  limit("max-queued-bytes", "maximumQueuedBytes", "<n>", "payload bytes queued per session"),
  limit("max-session-expiry", "maximumSessionExpiryInterval", "<s>", "longest session expiry granted"),
  limit("min-keepalive", "minimumKeepAlive", "<s>", "shortest keep alive, sent as Server Keep Alive"),
];
