// The README's walkthroughs, run exactly as written (test/support/readme-blocks.ts
// says how blocks are marked and what is changed: only the ports, and waiting
// for background processes), so a step that no longer works fails the suite.
// This directory is outside test/scenarios, so it runs once, in the first pass
// of `npm test`: `npm start` is Node, whatever runtime the scenarios use.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  clientScript, linePattern, outputFromLine, outputOfLine, type ReadmeBlock, readmeBlocks, seenSignal, startsBackground,
  substitutePorts, transcriptScript, transcriptSteps,
} from "../support/readme-blocks.ts";
import { ReadmeSandbox } from "../support/readme-runner.ts";

const README = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
const BLOCKS = readmeBlocks(README);
const blocksOf = (walkthrough: string) => BLOCKS.filter((b) => b.walkthrough === walkthrough);

// The ports a walkthrough uses: every README port its blocks name, and the
// default MQTT port unless its server names its own.
function portsOf(blocks: ReadmeBlock[], box: ReadmeSandbox): number[] {
  const text = blocks.map((b) => b.text).join("\n");
  const named = [...box.ports].filter(([from]) => from !== 1883 && new RegExp(`\\b${from}\\b`).test(text)).map(([, to]) => to);
  return /--port\b/.test(text) ? named : [box.ports.get(1883)!, ...named];
}

// Starts the walkthrough's servers, hands its client side to `check`, and stops everything.
async function walkthrough(name: string, check: (box: ReadmeSandbox, blocks: ReadmeBlock[], ports: number[]) => Promise<void>): Promise<void> {
  const box = await ReadmeSandbox.create();
  try {
    const ports = portsOf(blocksOf(name), box);
    const blocks = blocksOf(name).map((b) => ({ ...b, text: substitutePorts(b.text, box.ports) }));
    // Waiting for this walkthrough's ports would pass at once if none were named: it names some.
    expect(ports.length).toBeGreaterThan(0);
    for (const server of blocks.filter((b) => b.role === "server")) await box.startServer(server.text, ports);
    await check(box, blocks, ports);
  } finally {
    await box.close();
  }
}

async function runClientBlocks(box: ReadmeSandbox, blocks: ReadmeBlock[], ports: number[]): Promise<void> {
  const { script, promises } = clientScript(blocks.filter((b) => b.role === "client"), ports);
  // curl -s prints the API's answer whatever its status: a refused step shows as `"success":false`.
  const refused = /"success":false/;
  const { code, output } = await box.run(script, ["-euo", "pipefail"], 240_000, (out) => (refused.test(out) ? "stop" : undefined));
  const shown = `it printed:\n${output}\n--- the servers printed:\n${box.serverOutput()}`;
  expect(code, `the walkthrough stopped with exit code ${code}; ${shown}`).toBe(0);
  for (const promise of promises) {
    for (const text of promise.texts) {
      expect(outputOfLine(output, promise.id), `README line ${promise.readmeLine} promises "${text}"; ${shown}`).toContain(text);
    }
  }
  expect(output, `an admin API call was refused; ${shown}`).not.toMatch(refused);
}

describe("the README", () => {
  it("marks the walkthroughs it promises to run", () => {
    const roles = (name: string) => blocksOf(name).map((b) => b.role);
    expect(new Set(BLOCKS.map((b) => b.walkthrough))).toEqual(new Set(["two-commands", "tenants-walkthrough", "cli-session", "data-example", "cluster"]));
    expect(roles("two-commands")).toEqual(["server", "client"]);
    // The walkthrough itself, the live state, the on-publish hook, the limits.
    expect(roles("tenants-walkthrough")).toEqual(["server", "client", "client", "client", "client"]);
    expect(roles("cli-session")).toEqual(["server", "transcript"]);
    expect(roles("data-example")).toEqual(["client"]);
    expect(roles("cluster")).toEqual(["server", "client"]);
  });

  it("runs the two commands: npm start, then mosquitto_sub and mosquitto_pub", async () => {
    await walkthrough("two-commands", (box, blocks, ports) => runClientBlocks(box, blocks, ports));
  }, 300_000);

  it("runs the tenants walkthrough with the live state, on-publish hook and limits examples that continue it", async () => {
    await walkthrough("tenants-walkthrough", (box, blocks, ports) => runClientBlocks(box, blocks, ports));
  }, 300_000);

  it("runs the data directory example: a lasting session's queued message survives SIGKILL", async () => {
    await walkthrough("data-example", (box, blocks, ports) => runClientBlocks(box, blocks, ports));
  }, 300_000);

  it("runs the several-nodes walkthrough: a NATS server, two nodes, a message and a retained message across them", async () => {
    await walkthrough("cluster", (box, blocks, ports) => runClientBlocks(box, blocks, ports));
  }, 300_000);

  it("runs the command line session and prints what the transcript shows", async () => {
    await walkthrough("cli-session", async (box, blocks, ports) => {
      const steps = transcriptSteps(blocks.find((b) => b.role === "transcript")!);
      // Tells the session when a background command printed its first line (transcriptScript waits for it).
      const seen = (out: string) => steps.forEach((step, i) => {
        const first = step.expected[0];
        if (!startsBackground(step.command) || first === undefined || existsSync(seenSignal(box.dir, i + 1))) return;
        if (outputFromLine(out, i + 1).split("\n").some((l) => linePattern(first).test(l.trimEnd()))) writeFileSync(seenSignal(box.dir, i + 1), "");
      });
      const { code, output } = await box.run(transcriptScript(steps, ports, box.dir), ["-uo", "pipefail"], 240_000, seen);
      const shown = `the session printed:\n${output}\n--- the server printed:\n${box.serverOutput()}`;
      expect(code, `the session ended with exit code ${code}; ${shown}`).toBe(0);
      steps.forEach((step, i) => {
        const own = outputOfLine(output, i + 1);
        // What a background command prints may come after the next command started.
        const background = startsBackground(step.command);
        const lines = (background ? outputFromLine(output, i + 1) : own).split("\n").map((l) => l.trimEnd()).filter((l) => l !== "" && !l.startsWith("@@readme-status"));
        let from = 0;
        for (const expected of step.expected) {
          const pattern = linePattern(expected);
          const at = lines.findIndex((l, j) => j >= from && pattern.test(l));
          expect(at, `README line ${step.readmeLine}, \`${step.command}\`, should print\n  ${expected}\nbut printed:\n${lines.join("\n")}\n${shown}`).toBeGreaterThanOrEqual(0);
          from = at + 1;
        }
        if (background) return;
        // The command line's errors start with "edgemq: " and exit non-zero; anything else succeeds.
        const status = Number(/@@readme-status (\d+)@@/.exec(own)?.[1] ?? -1);
        const refused = step.expected.at(-1)?.startsWith("edgemq: ") ?? false;
        expect(refused ? status > 0 : status === 0, `README line ${step.readmeLine}, \`${step.command}\`, exited with ${status}; ${shown}`).toBe(true);
      });
    });
  }, 300_000);
});
