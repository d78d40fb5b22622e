import { describe, expect, it } from "vitest";
import { JsonSyntaxError, MAX_JSON_DEPTH, scanJson } from "../src/compliance/json-scan";

/** A whole JSON text: one value and nothing after it. */
const accepts = (text: string) => {
  try {
    return scanJson(text).trailingAt === null;
  } catch (err) {
    if (err instanceof JsonSyntaxError) return false;
    throw err;
  }
};
const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe("scanJson", () => {
  it("accepts exactly what JSON.parse accepts (one value, no trailing text)", () => {
    const samples = [
      "{}", "[]", " \t\r\n{} \n", '""', "0", "-0", "1.5e+3", "1E-2", "-12.0", "true", "false", "null",
      '{"a":[1,{"b":"}"}],"c":"x\\"y"}', '"\\u00e9\\ud83d\\ude00\\n\\t\\/\\\\\\b\\f\\r"', '"\u2028 raw line separator"', '"\\ud800"',
      '[1,[2,[3,[]]],{"":{}}]', '{"a" : 1 , "b" :2}',
      // and what it refuses
      "", " ", "{", "}", "[1,]", '{"a":1,}', "{,}", '{"a"}', '{"a":}', "{a:1}", "{'a':1}", "01", "1.", ".5", "+1", "-", "1e", "0x10",
      "tru", "nul", "True", "NaN", "Infinity", '"\\x41"', '"\\u00g0"', '"\\u00"', '"a\tb"', '"a\nb"', '"unterminated', '"\\', "[1 2]", '{"a":1 "b":2}',
      "\ufeff{}", "\u00a0{}",
    ];
    for (const text of samples) expect([text, accepts(text)]).toEqual([text, parses(text)]);
  });

  it("records the exact span and decoded name of each top-level member, in text order", () => {
    const text = '{ "a" : [1,{"b":"}"}] , "c":"x\\"y","d\\u0065":-1e3,"e":{}}';
    const scan = scanJson(text);
    expect(scan.topLevel!.map((m) => [m.name, text.slice(m.valueStart, m.valueEnd)])).toEqual([
      ["a", '[1,{"b":"}"}]'],
      ["c", '"x\\"y"'],
      ["de", "-1e3"],
      ["e", "{}"],
    ]);
    expect(scan).toMatchObject({ duplicate: null, trailingAt: null });
    expect(scanJson("[1,2]").topLevel).toBeNull();
    expect(scanJson('"x"').topLevel).toBeNull();
  });

  it("finds a repeated member name in any object, escaped or not, and only within one object", () => {
    expect(scanJson('{"a":{"b":1,"c":{"b":2},"b":3}}').duplicate).toEqual({ name: "b", at: 24 });
    const escaped = '{"report":{},"signature":{},"rep\\u006frt":{}}';
    expect(scanJson(escaped).duplicate).toEqual({ name: "report", at: escaped.indexOf('"rep\\u') });
    expect(scanJson('[{"x":[{"k":1,"k":2}]}]').duplicate).toEqual({ name: "k", at: 14 });
    expect(scanJson('{"a":1,"b":2,"a":3,"b":4}').duplicate).toEqual({ name: "a", at: 13 });
    // The same name in different objects, or nested under itself, is not a repeat.
    expect(scanJson('[{"a":1},{"a":2}]').duplicate).toBeNull();
    expect(scanJson('{"a":{"a":{"a":1}}}').duplicate).toBeNull();
    expect(scanJson('{"a":1,"A":2,"a ":3}').duplicate).toBeNull();
  });

  it("says where text follows the top-level value, without reading it", () => {
    expect(scanJson("{} \n").trailingAt).toBeNull();
    expect(scanJson("{}x").trailingAt).toBe(2);
    expect(scanJson('{"a":1}\n{"report":"second"}').trailingAt).toBe(8);
    expect(scanJson("{} ] not json at all {").trailingAt).toBe(3);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels with a reason, however deep`, () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    expect(accepts(nested(MAX_JSON_DEPTH))).toBe(true);
    expect(accepts(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`)).toBe(true);
    for (const text of [nested(MAX_JSON_DEPTH + 1), '{"a":'.repeat(MAX_JSON_DEPTH + 1), "[".repeat(1_000_000)]) {
      expect(() => scanJson(text)).toThrow(`nesting deeper than ${MAX_JSON_DEPTH} levels at position`);
    }
  });

  it("names the position where the text stops being JSON", () => {
    expect(() => scanJson('{"a":1,}')).toThrow("expected a member name at position 7");
    expect(() => scanJson('{"a":"b')).toThrow("unterminated string at position 7");
    expect(() => scanJson('{"a":1')).toThrow("unexpected end of text at position 6");
  });
});
