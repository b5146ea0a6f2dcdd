// The rules by which the README test reads its blocks: what counts as a
// comment, a background command, a promise and a transcript line.
import { describe, expect, it } from "vitest";
import {
  clientScript, linePattern, readmeBlocks, splitComment, startsBackground, substitutePorts, transcriptSteps,
} from "../support/readme-blocks.ts";

describe("the README test's reading of blocks", () => {
  it("finds a marked block and refuses a marker without a fence", () => {
    const blocks = readmeBlocks("text\n<!-- readme-test: demo client -->\n```sh\necho hi\n```\n");
    expect(blocks).toEqual([{ walkthrough: "demo", role: "client", text: "echo hi", line: 4 }]);
    expect(() => readmeBlocks("<!-- readme-test: demo client -->\nno fence\n")).toThrow(/followed by a fenced block/);
  });

  it("splits a trailing comment but not a # inside quotes", () => {
    expect(splitComment(`mosquitto_sub -t 'demo/#' -v &   # prints "x"`)).toEqual({ code: `mosquitto_sub -t 'demo/#' -v &`, comment: `prints "x"` });
    expect(splitComment(`curl "$B/retained?topic=sensors/#"`)).toEqual({ code: `curl "$B/retained?topic=sensors/#"`, comment: "" });
  });

  it("tells a background command from && and redirections", () => {
    expect(startsBackground("mosquitto_sub -t x &")).toBe(true);
    expect(startsBackground("node adapters/node & BROKER=$!")).toBe(true);
    expect(startsBackground("npm install && npm start")).toBe(false);
    expect(startsBackground("cmd 2>&1 | tee log")).toBe(false);
  });

  it("replaces only whole example port numbers", () => {
    const ports = new Map([[1883, 40001], [18830, 40002]]);
    expect(substitutePorts("127.0.0.1:1883 and :18830, not 118830", ports)).toBe("127.0.0.1:40001 and :40002, not 118830");
  });

  it("turns a comment's quoted text into a promise, and fails: into a line that must fail", () => {
    const block = { walkthrough: "w", role: "client" as const, line: 10, text: `echo hi   # prints "hi"\nfalse   # fails: "no"` };
    const { script, promises } = clientScript([block], [1]);
    expect(promises).toEqual([{ id: 1, readmeLine: 10, texts: ["hi"], fails: false }, { id: 2, readmeLine: 11, texts: ["no"], fails: true }]);
    expect(script).toContain(`if false; then echo "readme-test: README line 11 was to fail but succeeded"; exit 97; fi`);
  });

  it("reads a transcript's commands and output, and matches ids, times and … loosely", () => {
    const steps = transcriptSteps({ walkthrough: "t", role: "transcript", line: 1, text: "$ a\nline one\n…\n$ b &\n" });
    expect(steps).toEqual([{ command: "a", expected: ["line one"], readmeLine: 1 }, { command: "b &", expected: [], readmeLine: 4 }]);
    const pattern = linePattern("sub-1  01M881R0M8ERHRYEBJ48ES3635  2027-01-06T05:10:00.000Z  eyJhbG…");
    expect(pattern.test("sub-1      01M97DX8E07CYHX25Q519ENW4A  2027-02-01T00:00:01.500000Z  eyJhbGciOi.x.y")).toBe(true);
    expect(pattern.test("pub-1      01M97DX8E07CYHX25Q519ENW4A  2027-02-01T00:00:01.500000Z  eyJhbGciOi.x.y")).toBe(false);
    expect(linePattern("Published 4 bytes (QoS 1).").test("Published 4 bytes (QoS 1).")).toBe(true);
  });
});
