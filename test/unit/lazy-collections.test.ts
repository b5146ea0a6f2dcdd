// Unit tests of the session's lazily made maps and sets (issue 14): empty,
// they answer as an empty Map or Set would; filled, as the Map or Set they make.
import { describe, expect, it } from "vitest";
import { LazyMap, LazySet } from "@edgemq/core";

describe("a LazyMap", () => {
  it("reads as an empty map before its first entry", () => {
    const m = new LazyMap<number, string>();
    expect(m.size).toBe(0);
    expect(m.get(1)).toBeUndefined();
    expect(m.has(1)).toBe(false);
    expect(m.delete(1)).toBe(false);
    expect([...m.values()]).toEqual([]);
    expect([...m.keys()]).toEqual([]);
    expect([...m]).toEqual([]);
  });

  it("keeps entries in insertion order, replaces a key's value and forgets deleted keys", () => {
    const m = new LazyMap<number, string>().set(3, "c").set(1, "a").set(2, "b").set(1, "A");
    expect(m.size).toBe(3);
    expect(m.get(1)).toBe("A");
    expect(m.delete(3)).toBe(true);
    expect(m.has(3)).toBe(false);
    expect([...m.keys()]).toEqual([1, 2]);
    expect([...m.values()]).toEqual(["A", "b"]);
    expect([...m]).toEqual([[1, "A"], [2, "b"]]);
  });

  it("is empty again after clear and can be filled anew", () => {
    const m = new LazyMap<string, number>().set("x", 1);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get("x")).toBeUndefined();
    m.set("y", 2);
    expect([...m]).toEqual([["y", 2]]);
  });

  it("lets entries be deleted while its values are iterated, as a Map does", () => {
    const m = new LazyMap<number, number>().set(1, 1).set(2, 2).set(3, 3);
    for (const v of m.values()) if (v === 2) m.delete(2);
    expect([...m.keys()]).toEqual([1, 3]);
  });
});

describe("a LazySet", () => {
  it("reads as an empty set before its first member", () => {
    const s = new LazySet<number>();
    expect(s.size).toBe(0);
    expect(s.has(7)).toBe(false);
    expect(s.delete(7)).toBe(false);
    expect([...s]).toEqual([]);
  });

  it("holds each member once, in insertion order, until deleted or cleared", () => {
    const s = new LazySet<number>().add(5).add(2).add(5);
    expect(s.size).toBe(2);
    expect([...s]).toEqual([5, 2]);
    expect(s.delete(5)).toBe(true);
    expect(s.has(5)).toBe(false);
    s.clear();
    expect(s.size).toBe(0);
    s.add(9);
    expect([...s]).toEqual([9]);
  });
});
