// Where on-publish hooks may post: the default denials (loopback, private,
// link-local, shared, metadata), the operator's allowances, and the checks
// when a URL is set (the registry, so the admin API) and when a call is made.
import { describe, expect, it } from "vitest";
import { HookDestinations, Registry, TenancyError } from "@edgemq/tenancy";
import { newKeySet } from "@edgemq/credentials";
import { HookCallError, httpPublishHook } from "../../packages/server/src/http-hook.ts";

describe("hook destinations", () => {
  const none = new HookDestinations();

  it("refuses loopback, private, link-local, shared and unspecified addresses of both families, IPv4-mapped ones included", () => {
    for (const [url, rule] of [
      ["http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"], ["http://10.0.0.1/", "10.0.0.0/8"], ["http://172.31.255.1/", "172.16.0.0/12"],
      ["http://192.168.1.1/", "192.168.0.0/16"], ["http://127.0.0.1:8080/", "127.0.0.0/8"], ["http://0.0.0.0/", "0.0.0.0/8"],
      ["http://100.100.100.200/", "100.64.0.0/10"], ["http://[::1]/", "::1/128"], ["http://[fe80::1]/", "fe80::/10"],
      ["http://[fd00::5]/", "fc00::/7"], ["http://[::ffff:169.254.169.254]/", "169.254.0.0/16"], ["http://[::]/", "::/128"],
      ["http://2130706433/", "127.0.0.0/8"], ["http://0x7f.1/", "127.0.0.0/8"], // the URL parser's other spellings of 127.0.0.1
    ] as const) {
      expect(none.refusalOfUrl(url), url).toContain(`in ${rule}`);
    }
    expect(none.refusalOfUrl("http://169.254.169.254/")).toMatch(/169\.254\.169\.254 is link-local .*unless the server's operator allows it \(edgemq --hook-allow 169\.254\.169\.254, or "hookAllow": \["169\.254\.169\.254"\]/);
  });

  it("refuses cloud metadata names, lets public addresses and other names through (names are checked when resolved)", () => {
    expect(none.refusalOfUrl("http://metadata.google.internal/computeMetadata/v1/")).toMatch(/is the name of a cloud metadata service/);
    for (const url of ["https://hooks.example/mqtt", "http://192.0.2.10/", "http://[2001:db8::1]/", "http://172.32.0.1/", "http://localhost:9/"]) {
      expect(none.refusalOfUrl(url), url).toBeUndefined();
    }
  });

  it("allows what the operator allows: an address, a range, or a name whatever it resolves to; and refuses a malformed allowance", () => {
    const some = new HookDestinations(["169.254.169.254", "10.0.0.0/8", "fd00::/8", "Hooks.Internal"]);
    expect(some.refusalOfUrl("http://169.254.169.254/")).toBeUndefined();
    expect(some.refusalOfUrl("http://169.254.169.253/")).toContain("169.254.0.0/16");
    expect(some.refusalOfUrl("http://10.200.0.1/")).toBeUndefined();
    expect(some.refusalOfUrl("http://[fd00::1]/")).toBeUndefined();
    expect(some.allowsName("http://hooks.internal./x")).toBe(true);
    expect(some.refusalOfAddress("127.0.0.1", "hooks.internal")).toMatch(/^hooks\.internal resolves to 127\.0\.0\.1, which is loopback/);
    expect(() => new HookDestinations(["10.0.0.0/33"])).toThrow(/neither an address, a CIDR range .* nor a host name/);
  });

  it("the registry refuses a refused URL when a broker is created or updated, and takes it once allowed", async () => {
    const registry = await Registry.open({});
    await registry.createNamespace({ name: "acme" });
    const error = await registry.createBroker("acme", { name: "b", on_publish: { url: "http://169.254.169.254/" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenancyError);
    expect((error as TenancyError).kind).toBe("invalid");
    expect((error as Error).message).toMatch(/^on_publish\.url "http:\/\/169\.254\.169\.254\/" is refused: .*--hook-allow 169\.254\.169\.254/);
    await registry.createBroker("acme", { name: "b" });
    await expect(registry.updateBroker("acme", "b", { on_publish: { url: "http://10.0.0.1/" } })).rejects.toThrow(/10\.0\.0\.1 is a private address, in 10\.0\.0\.0\/8/);
    const allowing = await Registry.open({ hookDestinations: new HookDestinations(["10.0.0.0/8"]) });
    await allowing.createNamespace({ name: "acme" });
    expect((await allowing.createBroker("acme", { name: "b", on_publish: { url: "http://10.0.0.1/" } })).on_publish?.url).toBe("http://10.0.0.1/");
  });

  it("a call to a name that resolves to a refused address fails before any request is made", async () => {
    const keys = await newKeySet(Date.now());
    let requests = 0;
    const options = {
      url: "http://localhost:9/hook", broker: "b.ns.example", signingKey: () => keys.current.privateJwk,
      fetch: (async () => (requests++, new Response("[]"))) as unknown as typeof fetch,
    };
    const refused = httpPublishHook(options); // the real resolver: localhost is loopback
    const error = await Promise.resolve().then(() => refused([])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HookCallError);
    expect((error as Error).message).toMatch(/^refused to post to http:\/\/localhost:9\/hook: localhost resolves to (127\.0\.0\.1|::1), which is loopback/);
    expect(requests).toBe(0);
    await httpPublishHook({ ...options, destinations: new HookDestinations(["localhost"]) })([]);
    await httpPublishHook({ ...options, destinations: new HookDestinations(["127.0.0.0/8", "::1"]) })([]);
    expect(requests).toBe(2);
  });
});
