// The README's runnable walkthroughs: finds the blocks marked for testing and
// turns them into bash scripts that run them exactly as written. A block is
// marked by an HTML comment on the line before its fence:
//
//   <!-- readme-test: <walkthrough> server|client|transcript -->
//
// server: started in the background; the walkthrough waits for its ports.
// client: run in order, as one shell session, with `bash -euo pipefail`. A
//   double-quoted text in a line's trailing comment is output the line promises
//   (`# prints "demo/hello hi"`), printed while it runs or just after (by a
//   background subscriber); a comment with `fails:` promises a non-zero exit.
// transcript: `$ command` lines followed by the output they print; `…` stands
//   for a left-out line or value, ids and times match any id and time.
//
// The only changes made to what is written: the README's example ports become
// free ones, and after a line that starts a background process the script waits
// for the walkthrough's ports and a moment for the process to get going.

/** One marked block of the README. */
export interface ReadmeBlock {
  walkthrough: string;
  role: "server" | "client" | "transcript";
  text: string;
  /** The README line of the block's first line (1-based), for messages. */
  line: number;
}

/** The example port numbers the README uses; each becomes a free port. */
export const README_PORTS = [1883, 8080, 18830, 18080, 4222, 1884, 1885] as const;

const MARKER = /^<!-- readme-test: (\S+) (server|client|transcript) -->$/;

/** The marked blocks, in README order; a marker not followed by a fence throws. */
export function readmeBlocks(readme: string): ReadmeBlock[] {
  const lines = readme.split("\n");
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!.trim());
    if (!m) continue;
    if (!lines[i + 1]?.startsWith("```")) throw new Error(`README line ${i + 1}: a readme-test marker must be followed by a fenced block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith("```"));
    if (end < 0) throw new Error(`README line ${i + 2}: the fenced block never closes`);
    blocks.push({ walkthrough: m[1]!, role: m[2] as ReadmeBlock["role"], text: lines.slice(i + 2, end).join("\n"), line: i + 3 });
  }
  return blocks;
}

/** Replaces the README's example ports with the given ones. */
export function substitutePorts(text: string, ports: ReadonlyMap<number, number>): string {
  let out = text;
  for (const [from, to] of ports) out = out.replace(new RegExp(`\\b${from}\\b`, "g"), String(to));
  return out;
}

/** Splits a shell line into its code and its trailing `# comment` (quotes respected). */
export function splitComment(line: string): { code: string; comment: string } {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = "";
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i++;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim() };
  }
  return { code: line, comment: "" };
}

/** Whether a line of shell code sends something to the background (`cmd &`, not `&&` or `>&2`). */
export const startsBackground = (code: string): boolean => /(^|[^&>|])&(\s|;|$)/.test(code);

/** Output a line promises: the line's id in the script, the texts, and whether it must fail. */
export interface LinePromise { id: number; readmeLine: number; texts: string[]; fails: boolean }

/** The marker a script prints before the line with this id, so output can be told apart per line. */
export const lineMarker = (id: number) => `@@readme-line ${id}@@`;

// Waits until every port of the walkthrough accepts a connection, then a moment
// (`settle` seconds) for a background client to connect and subscribe: the
// "waiting for background processes" a person does by eye.
function waitFunction(ports: number[], settle: number): string {
  return `__readme_wait() {
  local deadline=$((SECONDS + 30))
  for port in ${ports.join(" ")}; do
    until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do
      if (( SECONDS >= deadline )); then echo "readme-test: nothing listens on port $port after 30 s" >&2; return 1; fi
      sleep 0.1
    done
  done
  sleep ${settle}
}`;
}

/** The client blocks of one walkthrough as one script, and the promises to check in its output. */
export function clientScript(blocks: ReadmeBlock[], ports: number[]): { script: string; promises: LinePromise[] } {
  // mosquitto_sub prints nothing once subscribed; it takes milliseconds, 2 s is ample.
  const out = ["exec 2>&1", waitFunction(ports, 2)];
  const promises: LinePromise[] = [];
  let id = 0;
  for (const block of blocks) {
    const lines = block.text.split("\n");
    lines.forEach((line, k) => {
      const continued = k > 0 && lines[k - 1]!.endsWith("\\");
      const { code, comment } = splitComment(line);
      if (!continued && code.trim() !== "") {
        id++;
        out.push(`printf '\\n%s\\n' '${lineMarker(id)}'`);
        const texts = [...comment.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
        const fails = /\bfails:/.test(comment);
        if (texts.length > 0 || fails) promises.push({ id, readmeLine: block.line + k, texts, fails });
        if (fails) {
          if (code.endsWith("\\")) throw new Error(`README line ${block.line + k}: a line that fails must be one line`);
          out.push(`if ${code}; then echo "readme-test: README line ${block.line + k} was to fail but succeeded"; exit 97; fi`);
        } else out.push(line);
      } else out.push(line);
      // After a whole statement: wait for what it started, or for what a background
      // process prints about it (a subscriber's message) to arrive.
      if (code.trim() === "" || code.endsWith("\\")) return;
      out.push(startsBackground(code) ? "__readme_wait" : "if [ -n \"$(jobs -r)\" ]; then sleep 0.5; fi");
    });
  }
  return { script: out.join("\n") + "\n", promises };
}

/** One command of a transcript and the lines it shows. */
export interface TranscriptStep { command: string; expected: string[]; readmeLine: number }

/** The `$ ` commands of a transcript block with the output shown under each. */
export function transcriptSteps(block: ReadmeBlock): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  block.text.split("\n").forEach((line, k) => {
    if (line.startsWith("$ ")) steps.push({ command: line.slice(2), expected: [], readmeLine: block.line + k });
    else if (steps.length === 0) throw new Error(`README line ${block.line + k}: a transcript starts with a "$ " command`);
    else if (line.trim() !== "" && line.trim() !== "…") steps.at(-1)!.expected.push(line.trimEnd());
  });
  return steps;
}

/** The file a transcript waits for after starting a background command, until it printed its first line. */
export const seenSignal = (dir: string, id: number) => `${dir}/seen-${id}`;

/**
 * A transcript as a script that marks each command's output and records its
 * exit status. After a background command that shows output, it waits (30 s at
 * most) for `seenSignal(signals, id)`, which the runner creates once that output
 * appeared: `edgemq sub … &` has subscribed when it says so, not after a guess.
 */
export function transcriptScript(steps: TranscriptStep[], ports: number[], signals: string): string {
  const out = ["exec 2>&1", waitFunction(ports, 1), `__readme_seen() {
  local deadline=$((SECONDS + 30))
  until [ -e "$1" ] || (( SECONDS >= deadline )); do sleep 0.1; done
}`];
  steps.forEach((step, i) => {
    out.push(`printf '\\n%s\\n' '${lineMarker(i + 1)}'`, step.command);
    if (startsBackground(splitComment(step.command).code)) {
      out.push("__readme_wait");
      if (step.expected.length > 0) out.push(`__readme_seen '${seenSignal(signals, i + 1)}'`);
    } else out.push(`printf '\\n@@readme-status %d@@\\n' $?`);
    // Output of a background command may still be on its way.
    out.push("if [ -n \"$(jobs -r)\" ]; then sleep 0.5; fi");
  });
  return out.join("\n") + "\n";
}

const ULID = /\b[0-9A-HJKMNP-TV-Z]{26}\b/g;
const TIME = /\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/g;

/** A line a transcript shows, as a pattern: `…` is anything, ids and times any id and time, spaces any spaces. */
export function linePattern(expected: string): RegExp {
  const holes: string[] = [];
  const hole = (re: string) => `\u0000${holes.push(re) - 1}\u0000`;
  const marked = expected.replace(ULID, () => hole("[0-9A-HJKMNP-TV-Z]{26}")).replace(TIME, () => hole("\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z")).replace(/…/g, () => hole(".*"));
  const escaped = marked.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ +/g, " +");
  return new RegExp(`^${escaped.replace(/\u0000(\d+)\u0000/g, (_, n: string) => holes[Number(n)]!)}$`);
}

/** The output printed after a line's marker and before the next line's. */
export function outputOfLine(output: string, id: number): string {
  const start = output.indexOf(lineMarker(id));
  if (start < 0) return "";
  const end = output.indexOf(lineMarker(id + 1), start);
  return output.slice(start + lineMarker(id).length, end < 0 ? undefined : end);
}

/** The output printed from a line's marker to the end. */
export function outputFromLine(output: string, id: number): string {
  const start = output.indexOf(lineMarker(id));
  return start < 0 ? "" : output.slice(start);
}
