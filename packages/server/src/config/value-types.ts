import { ConfigError } from "./config-error.ts";

/**
 * What an option's value is: how a flag's or an environment variable's text
 * becomes the value, and what any value (text or the config file's) must be.
 * Messages name `label`, the flag (`--port`), as they always have.
 */
export interface ValueType<T> {
  /** `switch` takes no text on the command line; the others take a value. */
  readonly kind: "switch" | "text" | "whole number" | "choice";
  /** The value's placeholder in help, such as `<n>`; none for a switch. */
  readonly placeholder?: string;
  /** The values allowed, for a choice. */
  readonly choices?: readonly string[];
  /** Turns text into the value, or throws a ConfigError naming `label`. */
  fromText(text: string, label: string): T;
  /** Checks (and may normalise) the value that won, wherever it came from. */
  check?(value: T, label: string): T;
}

// `a`, `a or b`, `a, b or c`: how the messages list choices.
function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** Reads a whole number from text, within bounds; `what` names it in messages. */
export function wholeNumberFrom(text: string | undefined, what: string, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new ConfigError(`${what} needs a whole number, got ${text === undefined ? "nothing" : `"${text}"`}`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A flag that takes no value; its environment variable says true or false. */
export const SWITCH: ValueType<boolean> = {
  kind: "switch",
  fromText(text, label) {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    throw new ConfigError(`${label} must be true or false, got "${text}"`);
  },
};

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number, placeholder = "<n>"): ValueType<number> {
  return { kind: "whole number", placeholder, fromText: (text, label) => wholeNumberFrom(text, label, min, max) };
}

/** A TCP port: 0 to 65535, 0 picking a free one. */
export const PORT: ValueType<number> = wholeNumber(0, 65535);

/** Any text, checked (and perhaps normalised) by `check` when given. */
export function text(placeholder: string, check?: (value: string, label: string) => string): ValueType<string> {
  return { kind: "text", placeholder, fromText: (t) => t, ...(check === undefined ? {} : { check }) };
}

/** One of a few words, written as they are listed. */
export function choice<const C extends string>(choices: readonly C[], placeholder = `<${choices.join("|")}>`): ValueType<C> {
  return {
    kind: "choice",
    placeholder,
    choices,
    fromText: (t) => t as C,
    check(value, label) {
      if (!choices.includes(value)) throw new ConfigError(`${label} must be ${orList(choices)}, got "${value}"`);
      return value;
    },
  };
}
