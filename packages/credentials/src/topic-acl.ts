import type { AccessRule, AccessRules } from "@edgemq/core";
import { validateTopicFilter } from "@edgemq/core/codec";

/** A credential's topic rights: filters it may publish to and filters it may subscribe to. */
export interface TopicAcl {
  publish: string[];
  subscribe: string[];
}

/** A `topicAcl` that cannot be used, with what is wrong. */
export class TopicAclError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TopicAclError";
  }
}

//
// The topicAcl grammar (also in the README):
//   acl     = entry *( ( " " / "," ) entry )
//   entry   = [ "pub:" / "sub:" ] filter      ; no prefix grants both rights
//   filter  = an MQTT topic filter (+ and # allowed, no $share/)
// `#` alone (Cloudflare's only value) grants both rights on every topic that
// does not start with `$`. A missing or empty topicAcl means `#`, as
// Cloudflare treated it. `%c` in a filter stands for the client id.
// The JSON form {"publish": [...], "subscribe": [...]} is accepted too.
//

/** Parses a topicAcl (string grammar, array of entries, or object form). */
export function parseTopicAcl(value: unknown): TopicAcl {
  if (value === undefined || value === null || value === "") return { publish: ["#"], subscribe: ["#"] };
  if (typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    const list = (k: string): string[] => {
      const x = v[k] ?? [];
      if (!Array.isArray(x) || x.some((f) => typeof f !== "string")) throw new TopicAclError(`topicAcl.${k} must be a list of topic filters`);
      return x.map((f) => checkFilter(f as string));
    };
    for (const key of Object.keys(v)) if (key !== "publish" && key !== "subscribe") throw new TopicAclError(`topicAcl has an unknown key "${key}"; use "publish" and "subscribe"`);
    return { publish: list("publish"), subscribe: list("subscribe") };
  }
  const entries = Array.isArray(value) ? value : typeof value === "string" ? value.split(/[\s,]+/) : undefined;
  if (entries === undefined) throw new TopicAclError("topicAcl must be a string such as \"sub:a/# pub:b/%c\", a list of such entries, or {\"publish\":[...],\"subscribe\":[...]}");
  const acl: TopicAcl = { publish: [], subscribe: [] };
  for (const raw of entries) {
    if (typeof raw !== "string") throw new TopicAclError("topicAcl entries must be strings");
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry.startsWith("pub:")) acl.publish.push(checkFilter(entry.slice(4)));
    else if (entry.startsWith("sub:")) acl.subscribe.push(checkFilter(entry.slice(4)));
    else {
      const f = checkFilter(entry);
      acl.publish.push(f);
      acl.subscribe.push(f);
    }
  }
  return acl;
}

function checkFilter(filter: string): string {
  if (filter.startsWith("$share/")) throw new TopicAclError(`topicAcl filter "${filter}": grant the topic itself; shared subscriptions are checked against it`);
  try {
    validateTopicFilter(filter.replaceAll("%c", "c"));
  } catch (e) {
    throw new TopicAclError(`topicAcl filter "${filter}" is not a valid topic filter: ${(e as Error).message}`);
  }
  return filter;
}

/** The access rules a credential's ACL stands for: only what it grants, nothing else. */
export function topicAclRules(acl: TopicAcl): AccessRules {
  const rules: AccessRule[] = [];
  if (acl.publish.length > 0) rules.push({ topics: acl.publish, access: "publish", effect: "allow" });
  if (acl.subscribe.length > 0) rules.push({ topics: acl.subscribe, access: "subscribe", effect: "allow" });
  return { rules, defaultEffect: "deny" };
}

/** Writes an ACL back in the string grammar (what a JWT's topicAcl claim holds). */
export function formatTopicAcl(acl: TopicAcl): string {
  const both = acl.publish.filter((f) => acl.subscribe.includes(f));
  const parts = [
    ...both,
    ...acl.publish.filter((f) => !both.includes(f)).map((f) => `pub:${f}`),
    ...acl.subscribe.filter((f) => !both.includes(f)).map((f) => `sub:${f}`),
  ];
  return parts.join(" ");
}
