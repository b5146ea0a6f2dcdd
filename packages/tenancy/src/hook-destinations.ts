// Where on-publish hooks may post. A hook URL is set by a tenant's token
// (User role), but the server makes the request: without a rule, a tenant
// could make the server post to its own loopback services, the private
// network behind it, or a cloud metadata service (169.254.169.254) and read
// the answer back through its hook — a server-side request forgery. So those
// destinations are refused unless the server's operator allows them.
import { type AddressBytes, type Cidr, inCidr, mappedIpv4, parseAddress, parseCidr } from "./ip-address.ts";

interface Rule {
  range: Cidr;
  what: string;
}

const rule = (cidr: string, what: string): Rule => ({ range: parseCidr(cidr)!, what });

/** The destinations refused by default, with what each is. */
const DENIED: readonly Rule[] = [
  rule("0.0.0.0/8", "\"this network\" (0.0.0.0 reaches the server itself)"),
  rule("127.0.0.0/8", "loopback"),
  rule("10.0.0.0/8", "a private address"),
  rule("172.16.0.0/12", "a private address"),
  rule("192.168.0.0/16", "a private address"),
  rule("100.64.0.0/10", "shared address space (carrier-grade NAT; some clouds' metadata services)"),
  rule("169.254.0.0/16", "link-local (cloud metadata services answer on 169.254.169.254)"),
  rule("::/128", "the unspecified address"),
  rule("::1/128", "loopback"),
  rule("fe80::/10", "link-local"),
  rule("fc00::/7", "a private (unique local) address"),
  rule("fec0::/10", "a site-local address"),
];

/** Names of cloud metadata services, refused by name (they resolve only inside the cloud). */
const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/** A URL's host as compared: lower case, without a trailing dot (IPv6 keeps its brackets). */
function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
}

/**
 * The operator's allowances over the default denials: loopback, private,
 * link-local and shared ranges (IPv4 and IPv6, IPv4-mapped included) and the
 * metadata services' names. An allowance is an address, a CIDR range, or a
 * host name (which then may resolve anywhere: the operator vouches for it).
 */
export class HookDestinations {
  readonly #ranges: Cidr[] = [];
  readonly #names = new Set<string>();

  /** Throws an Error naming an entry that is neither an address, a range nor a host name. */
  constructor(allow: readonly string[] = []) {
    for (const entry of allow) {
      const range = parseCidr(entry);
      if (range !== undefined) this.#ranges.push(range);
      else if (HOST_NAME.test(entry)) this.#names.add(entry.toLowerCase().replace(/\.$/, ""));
      else throw new Error(`hook destination "${entry}" is neither an address, a CIDR range (10.0.0.0/8, fd00::/8) nor a host name`);
    }
  }

  /** Whether a URL's host is a name the operator allowed (so what it resolves to is not checked). */
  allowsName(url: string): boolean {
    return this.#names.has(hostOf(url));
  }

  /**
   * Why a hook URL may not be set, or undefined: its host is a refused
   * literal address or a metadata service's name. Other names are checked
   * when a call resolves them ({@link refusalOfAddress}).
   */
  refusalOfUrl(url: string): string | undefined {
    const host = hostOf(url);
    if (this.#names.has(host)) return undefined;
    if (parseAddress(host) !== undefined) return this.refusalOfAddress(host);
    if (METADATA_NAMES.has(host)) return refusal(`${host} is the name of a cloud metadata service`, host);
    return undefined;
  }

  /** Why a hook may not post to an address (a URL's literal host, or what its name resolved to), or undefined. */
  refusalOfAddress(text: string, name?: string): string | undefined {
    const address = parseAddress(text);
    if (address === undefined) return `"${text}" is not an IP address`;
    const v4: AddressBytes = mappedIpv4(address) ?? address;
    if (this.#ranges.some((r) => inCidr(address, r) || inCidr(v4, r))) return undefined;
    const denied = DENIED.find((r) => inCidr(v4, r.range));
    if (denied === undefined) return undefined;
    const what = `${denied.what}, in ${denied.range.text}`;
    return refusal(name === undefined ? `${text} is ${what}` : `${name} resolves to ${text}, which is ${what}`, name ?? text.replace(/^\[|\]$/g, ""));
  }
}

/** A refusal that names the rule and the operator's way to lift it. */
function refusal(problem: string, allow: string): string {
  return `${problem}: on-publish hooks may not post to loopback, private, link-local or cloud metadata destinations ` +
    `unless the server's operator allows it (edgemq --hook-allow ${allow}, or "hookAllow": ["${allow}"] in the config file)`;
}
