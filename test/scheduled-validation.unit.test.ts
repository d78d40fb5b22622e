import { describe, expect, it } from "vitest";
import { runKind } from "../src/ops/scheduled-validation";

describe("runKind", () => {
  const wednesday = "2026-12-02T03:17:00.000Z";
  it("is full without a verified point or a previous full run", () => {
    expect(runKind(wednesday, null, 10)).toBe("full");
    expect(runKind(wednesday, "2026-12-01T03:17:00.000Z", null)).toBe("full");
  });
  it("is full on Sundays (UTC) and once the last full run is a week old, incremental otherwise", () => {
    expect(runKind("2026-12-06T03:17:00.000Z", "2026-12-05T03:17:00.000Z", 10)).toBe("full");
    expect(runKind(wednesday, "2026-11-25T03:17:00.000Z", 10)).toBe("full");
    expect(runKind(wednesday, "2026-11-25T03:17:00.001Z", 10)).toBe("incremental");
    expect(runKind(wednesday, "2026-12-01T03:17:00.000Z", 10)).toBe("incremental");
  });
});
