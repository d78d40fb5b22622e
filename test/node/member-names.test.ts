import { describe, expect, it } from "vitest";
import { duplicateMember } from "../../cli/member-names";

const check = (text: string) => duplicateMember(text, JSON.parse(text));

describe("duplicateMember: the cheap count of names written against members parsed", () => {
  it("counts no name inside a string, whatever quotes, backslashes and colons it holds", () => {
    const clean = [
      "{}", "[]", "1", '"a:b"', '{"a":"x\\":y","b\\\\":1}', '{"a" : {"b":[{"c":1}]},"d":":"}', '{"a":"\\\\","b":"\\"","c":"\\\\\\""}',
      '{ "a" :\t1 ,\r\n "b"\n:\n[ ] }', '{"":{"":{"":null}}}', '{"\\"":1,"\\\\":2}', '[{"a":1},{"a":1}]', '{"a":"\\u0022:"}', '{"__proto__":1}',
    ];
    for (const text of clean) expect(check(text), text).toBeNull();
  });

  it("names a repeated name at any depth, however it is escaped", () => {
    expect(check('{"status":"failure","status":"success"}')).toBe("duplicate member status");
    expect(check('{"a":[1,{"b":{"n":1,"x":":","n":2}}]}')).toBe("duplicate member n");
    expect(check('{"st\\u0061tus":1,"status":2}')).toBe("duplicate member status");
    expect(check('{"a\\"":1,"a\\"" :2}')).toBe('duplicate member a"');
  });

  it("still refuses a repeated name nested deeper than a record can be", () => {
    const deep = "[".repeat(100) + '{"a":1,"a":2}' + "]".repeat(100);
    expect(check(deep)).toBe("duplicate member name");
  });
});
