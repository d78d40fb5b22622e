import { describe, expect, it } from "vitest";
import { jsonDepthExceeds, MAX_JSON_DEPTH, PROTO_MEMBER, rawBodyProblem, REPEATED_MEMBER, TOO_DEEP } from "../src/http/json-input";

const rawNestingOverflow = (text: string) => {
  const problem = rawBodyProblem(text);
  if (problem) expect(problem.message).toBe(TOO_DEEP);
  return problem?.field;
};

const nested = (depth: number, leaf = "{}") => `${'{"a":'.repeat(depth - 1)}${leaf}${"}".repeat(depth - 1)}`;

describe("rawBodyProblem: nesting", () => {
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

describe("rawBodyProblem: member names", () => {
  it("names a member repeated within one object, however its name is escaped, at any depth", () => {
    expect(rawBodyProblem('{"action":"update","x":1,"action":"delete"}')).toEqual({ field: "action", message: REPEATED_MEMBER });
    expect(rawBodyProblem('{"records":[{"a":1},{"metadata":{"k":{"a":1,"\\u0061":2}}}]}')).toEqual({ field: "records.1.metadata.k.a", message: REPEATED_MEMBER });
  });

  it("lets equal names in different objects, and names inside strings, through", () => {
    expect(rawBodyProblem('{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":"\\"a\\":1,\\"a\\":2"}')).toBeUndefined();
  });

  it("refuses __proto__ as a member name, which parsed objects drop", () => {
    expect(rawBodyProblem('{"metadata":{"__proto__":{"admin":true},"k":1}}')).toEqual({ field: "metadata.__proto__", message: PROTO_MEMBER });
    expect(rawBodyProblem('{"changes":{"\\u005f_proto__":{}}}')).toEqual({ field: "changes.__proto__", message: PROTO_MEMBER });
  });

  it("checks only nesting when member names are left to the caller (a report file to judge)", () => {
    expect(rawBodyProblem('{"report":1,"report":2}', false)).toBeUndefined();
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
