import { ReasonCode } from "../codec/reason-codes.ts";
import type { Message } from "../model/message.ts";
import { parseSharedFilter, type SubscriptionEntry } from "../model/subscription.ts";
import type { Decision, Hook } from "./hook.ts";
import type { ClientInfo } from "../model/client.ts";
import { filterCovers, topicMatches } from "./topic-match.ts";

/** One access rule, as data: who, which topics, what rights, allow or deny. */
export interface AccessRule {
  /** Client id to match; `*` or absent matches any. A trailing `*` matches a prefix. */
  clientId?: string;
  /** User name to match; `*` or absent matches any. */
  username?: string;
  /**
   * Topic filters this rule covers. `%c` and `%u` stand for the client id and user name;
   * a `%u` topic never applies to a client without a user name, and a name that is empty or
   * holds `/`, `+` or `#` is never substituted (an allow rule then does not apply, a deny rule does).
   */
  topics: string[];
  /** Rights granted or denied: publish, subscribe (which also governs receiving), or both. */
  access: "publish" | "subscribe" | "all";
  /** Whether the rule allows or denies; the first matching rule decides. */
  effect: "allow" | "deny";
  /**
   * The reason code a publish or subscription this deny rule refuses gets
   * (PUBACK, PUBREC, SUBACK): one of {@link REFUSAL_REASON_CODES}; 0x87 Not authorized by default.
   */
  reasonCode?: number;
}

/** Rules evaluated in order; when none matches, `defaultEffect` decides. */
export interface AccessRules {
  rules: AccessRule[];
  defaultEffect: "allow" | "deny";
  /** The reason code of a refusal by `defaultEffect: "deny"`; 0x87 Not authorized by default. */
  defaultReasonCode?: number;
}

/**
 * Reason codes a rule may refuse with, each valid in PUBACK, PUBREC and
 * SUBACK: 0x80 Unspecified error (for clients that only know it), 0x83
 * Implementation specific error, 0x87 Not authorized, 0x97 Quota exceeded.
 */
export const REFUSAL_REASON_CODES: readonly number[] = [ReasonCode.UnspecifiedError, ReasonCode.ImplementationSpecificError, ReasonCode.NotAuthorized, ReasonCode.QuotaExceeded];

function matchesName(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined || pattern === "*") return true;
  if (value === undefined) return false;
  return pattern.endsWith("*") ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

// A name that is not exactly one topic level would reach beyond its own subtree:
// `users/%u/#` with the user `#` matches everything under users/, and
// `sensors/%c/#` with the client id `dev-1/x` lies inside `dev-1`'s tree
// (an empty name makes `sensors//#`, one level shared by every empty name).
const NOT_ONE_LEVEL = /^$|[/+#]/;

/**
 * The rule's filter for this client: null if it names `%u` and the client has
 * no user name (the topic does not apply), "unsafe" if a substituted name is
 * empty or holds `/`, `+` or `#` (an allow does not apply, a deny does).
 */
function expand(filter: string, client: ClientInfo): string | null | "unsafe" {
  if (!filter.includes("%")) return filter;
  const hasU = filter.includes("%u"), hasC = filter.includes("%c");
  if (hasU && client.username === undefined) return null;
  if ((hasU && NOT_ONE_LEVEL.test(client.username!)) || (hasC && NOT_ONE_LEVEL.test(client.clientId))) return "unsafe";
  return filter.replaceAll("%c", client.clientId).replaceAll("%u", client.username ?? "");
}

/** Evaluates rules for a publish (a topic name) or a subscribe (a topic filter). */
export function evaluateRules(rules: AccessRules, client: ClientInfo, right: "publish" | "subscribe", topicOrFilter: string, isFilter: boolean): "allow" | "deny" {
  const rule = decidingRule(rules, client, right, topicOrFilter, isFilter);
  return rule === null ? rules.defaultEffect : rule.effect;
}

/** The first rule that decides a publish or subscribe, or null when none does (`defaultEffect` then decides). */
export function decidingRule(rules: AccessRules, client: ClientInfo, right: "publish" | "subscribe", topicOrFilter: string, isFilter: boolean): AccessRule | null {
  for (const rule of rules.rules) {
    if (rule.access !== "all" && rule.access !== right) continue;
    if (!matchesName(rule.clientId, client.clientId) || !matchesName(rule.username, client.username)) continue;
    for (const raw of rule.topics) {
      const filter = expand(raw, client);
      if (filter === null) continue;
      if (filter === "unsafe") {
        if (rule.effect === "deny") return rule;
        continue;
      }
      // A subscription is covered only if every topic it can match is covered,
      // so `a/#` never grants `#`, `+/x` or `$share/g/#`.
      const hit = isFilter ? (rule.effect === "allow" ? filterCovers(filter, topicOrFilter) : filtersOverlap(filter, topicOrFilter)) : topicMatches(filter, topicOrFilter);
      if (hit) return rule;
    }
  }
  return null;
}

// A deny rule applies to a subscription if the two filters can match a common topic.
function filtersOverlap(a: string, b: string): boolean {
  // A leading wildcard never reaches a `$` topic [MQTT-4.7.2-1]
  if ((a.startsWith("$") && (b.startsWith("+") || b.startsWith("#"))) || (b.startsWith("$") && (a.startsWith("+") || a.startsWith("#")))) return false;
  const x = a.split("/"), y = b.split("/");
  for (let i = 0; ; i++) {
    const p = x[i], q = y[i];
    if (p === "#" || q === "#") return true;
    if (p === undefined || q === undefined) return p === q;
    if (p !== "+" && q !== "+" && p !== q) return false;
  }
}

/** The attribute under which `authenticate` may attach a client's own access rules. */
export const ACCESS_RULES_ATTRIBUTE = "accessRules";

/**
 * A hook that enforces each client's own access rules, attached by its
 * authentication (a credential's topicAcl) under {@link ACCESS_RULES_ATTRIBUTE}:
 * at publish, subscribe and delivery. Clients without such rules pass to the next hook.
 */
export function clientRulesHook(name = "client-rules"): Hook {
  const deny: Decision = { deny: ReasonCode.NotAuthorized };
  const rulesOf = (client: ClientInfo) => client.attributes[ACCESS_RULES_ATTRIBUTE] as AccessRules | undefined;
  return {
    name,
    authorizePublish(client, message) {
      const rules = rulesOf(client);
      if (rules === undefined) return "next";
      return evaluateRules(rules, client, "publish", message.topic, false) === "allow" ? "next" : deny;
    },
    authorizeSubscribe(client, sub) {
      const rules = rulesOf(client);
      if (rules === undefined) return "next";
      return evaluateRules(rules, client, "subscribe", parseSharedFilter(sub.topicFilter).filter, true) === "allow" ? "next" : deny;
    },
    authorizeDelivery(client, message) {
      const rules = rulesOf(client);
      if (rules === undefined) return "next";
      return evaluateRules(rules, client, "subscribe", message.topic, false) === "allow" ? "next" : deny;
    },
  };
}

/** Turns access rules into a hook: checked at publish, subscribe and delivery. */
export function rulesHook(rules: AccessRules, name = "rules"): Hook {
  // One refusal per rule, made once: a refused packet allocates nothing.
  const refusals = new Map<AccessRule | null, Decision>();
  const decide = (rule: AccessRule | null): Decision => {
    if ((rule === null ? rules.defaultEffect : rule.effect) === "allow") return "next";
    let refusal = refusals.get(rule);
    if (refusal === undefined) refusals.set(rule, refusal = { deny: (rule === null ? rules.defaultReasonCode : rule.reasonCode) ?? ReasonCode.NotAuthorized });
    return refusal;
  };
  return {
    name,
    authorizePublish(client: ClientInfo, message: Message): Decision {
      return decide(decidingRule(rules, client, "publish", message.topic, false));
    },
    authorizeSubscribe(client: ClientInfo, sub: SubscriptionEntry): Decision {
      const { filter } = parseSharedFilter(sub.topicFilter);
      return decide(decidingRule(rules, client, "subscribe", filter, true));
    },
    authorizeDelivery(client: ClientInfo, message: Message): Decision {
      return decide(decidingRule(rules, client, "subscribe", message.topic, false));
    },
  };
}
