import { describe, expect, it } from "vitest";
import { jsonDepthExceeds, MAX_JSON_DEPTH, rawNestingOverflow } from "../src/http/json-input";

const nested = (depth: number, leaf = "{}") => `${'{"a":'.repeat(depth - 1)}${leaf}${"}".repeat(depth - 1)}`;

describe("rawNestingOverflow", () => {
  it("lets bodies through up to the limit plus a batch record's three levels", () => {
    expect(rawNestingOverflow(nested(MAX_JSON_DEPTH + 3))).toBeUndefined();
    expect(rawNestingOverflow(nested(MAX_JSON_DEPTH + 4))).toBe("a.a.a");
  });

  it("names keys as parsed and array items by index; brackets inside strings do not count", () => {
    const body = `{"x\\"y":"[[{{","list":[1,{"k":2},[${nested(70)}]]}`;
    expect(rawNestingOverflow(body)).toBe("list.2.0");
    expect(rawNestingOverflow(`{"a":"${"[".repeat(500)}"}`)).toBeUndefined();
    expect(rawNestingOverflow(`{"\\u0061b":${nested(80)}}`)).toBe("ab.a.a");
  });

  it("scans 1,000,000 levels without recursing, naming the fourth level of the deep branch", () => {
    expect(rawNestingOverflow("[".repeat(1_000_000))).toBe("0.0.0");
    expect(rawNestingOverflow(`{"a":1,"b":${nested(67)}}`)).toBe("b.a.a");
  });
});

describe("jsonDepthExceeds", () => {
  it("counts containers, `{}` as one level", () => {
    expect(jsonDepthExceeds(JSON.parse(nested(64)), 64)).toBe(false);
    expect(jsonDepthExceeds(JSON.parse(nested(65)), 64)).toBe(true);
    expect(jsonDepthExceeds("scalar", 0)).toBe(false);
    expect(jsonDepthExceeds([[1], { a: [[]] }], 2)).toBe(true);
  });
});
