import type { QoS } from "../codec/constants.ts";

/** One client's subscription to one topic filter, with its options. */
export interface SubscriptionEntry {
  clientId: string;
  /** The filter as the client sent it, `$share/` prefix included. */
  topicFilter: string;
  /** The filter without any `$share/{group}/` prefix. */
  filter: string;
  /** The share group for a shared subscription. */
  shareGroup: string | undefined;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier: number | undefined;
}

/** Splits `$share/{group}/{filter}` into its parts; a plain filter has no group. */
export function parseSharedFilter(topicFilter: string): { shareGroup: string | undefined; filter: string } {
  if (!topicFilter.startsWith("$share/")) return { shareGroup: undefined, filter: topicFilter };
  const slash = topicFilter.indexOf("/", 7);
  return { shareGroup: topicFilter.slice(7, slash), filter: topicFilter.slice(slash + 1) };
}
