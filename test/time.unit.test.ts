import { describe, expect, it } from "vitest";
import { parseIsoDateTime } from "../src/time";

const iso = (text: string) => {
  const ms = parseIsoDateTime(text);
  return ms === null ? null : new Date(ms).toISOString();
};

describe("parseIsoDateTime: whatever ISO 8601 form a client sends, normalized to UTC milliseconds", () => {
  it("reads the extended and basic formats, with or without seconds and fraction, T and Z in either case", () => {
    expect(iso("2026-03-01T10:15:30.123Z")).toBe("2026-03-01T10:15:30.123Z");
    expect(iso("2026-03-01T10:15Z")).toBe("2026-03-01T10:15:00.000Z");
    expect(iso("2026-03-01t10:15:30z")).toBe("2026-03-01T10:15:30.000Z");
    expect(iso("20260301T101500Z")).toBe("2026-03-01T10:15:00.000Z");
    expect(iso("20260301T1015Z")).toBe("2026-03-01T10:15:00.000Z");
    expect(iso("2026-03-01T10:15:30,5Z")).toBe("2026-03-01T10:15:30.500Z");
  });

  it("applies offsets written ±hh:mm, ±hhmm or ±hh; digits past the millisecond are dropped", () => {
    expect(iso("2026-03-01T10:15:00+01:30")).toBe("2026-03-01T08:45:00.000Z");
    expect(iso("2026-03-01T10:15:00+0130")).toBe("2026-03-01T08:45:00.000Z");
    expect(iso("2026-03-01T10:15:00-05")).toBe("2026-03-01T15:15:00.000Z");
    expect(iso("20260301T101500-0130")).toBe("2026-03-01T11:45:00.000Z");
    expect(iso("2026-03-01T00:00:00.123456789Z")).toBe("2026-03-01T00:00:00.123Z");
    expect(iso("2026-01-01T00:30:00+01:00")).toBe("2025-12-31T23:30:00.000Z");
  });

  it("refuses what names no single real instant", () => {
    for (const text of [
      "2026-03-01T10:15:00", // no zone
      "2026-03-01", // no time
      "2026-02-29T00:00:00Z", // 2026 is no leap year
      "2026-04-31T00:00:00Z",
      "2026-03-01T24:00:00Z",
      "2026-03-01T10:60:00Z",
      "2026-03-01T10:15:60Z",
      "2026-03-01T10:15:00+24:00",
      "2026-03-01T10:15:00+01:60",
      "2026-03-01 10:15:00Z",
      "2026-0301T10:15Z",
      "2026-03-01T10Z",
      " 2026-03-01T10:15Z",
    ]) {
      expect([text, parseIsoDateTime(text)]).toEqual([text, null]);
    }
    expect(iso("2024-02-29T12:00:00Z")).toBe("2024-02-29T12:00:00.000Z");
  });
});
