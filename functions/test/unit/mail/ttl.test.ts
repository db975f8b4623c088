import { expireAtFor } from "../../../src/mail/ttl";
import type { TtlUnit } from "../../../src/config";

const at = (iso: string): number => Date.parse(iso);
const expireAt = (unit: TtlUnit, value: number, start: string): string | undefined =>
  expireAtFor({ ttlExpireType: unit, ttlExpireValue: value }, at(start))?.toDate().toISOString();

describe("expireAtFor", () => {
  it("writes nothing when the unit is never", () => {
    expect(expireAtFor({ ttlExpireType: "never", ttlExpireValue: 5 }, Date.now())).toBeUndefined();
  });

  it.each<[TtlUnit, number, string, string]>([
    ["hour", 1, "2025-03-10T08:15:30.123Z", "2025-03-10T09:15:30.123Z"],
    ["hour", 30, "2025-03-10T08:00:00.000Z", "2025-03-11T14:00:00.000Z"],
    ["day", 1, "2025-03-10T08:15:30.123Z", "2025-03-11T08:15:30.123Z"],
    ["day", 3, "2024-02-28T23:00:00.000Z", "2024-03-02T23:00:00.000Z"],
    ["week", 1, "2025-03-10T08:15:30.123Z", "2025-03-17T08:15:30.123Z"],
    ["week", 2, "2025-12-25T00:00:00.000Z", "2026-01-08T00:00:00.000Z"],
    ["month", 1, "2025-03-10T08:15:30.123Z", "2025-04-10T08:15:30.123Z"],
    ["month", 3, "2025-11-15T12:00:00.000Z", "2026-02-15T12:00:00.000Z"],
    ["year", 1, "2025-03-10T08:15:30.123Z", "2026-03-10T08:15:30.123Z"],
    ["year", 10, "2025-03-10T08:15:30.123Z", "2035-03-10T08:15:30.123Z"],
  ])("%s × %d from %s is %s", (unit, value, start, expected) => {
    expect(expireAt(unit, value, start)).toBe(expected);
  });

  it.each<[TtlUnit, number, string, string]>([
    ["month", 1, "2025-01-31T10:00:00.000Z", "2025-02-28T10:00:00.000Z"],
    ["month", 1, "2024-01-31T10:00:00.000Z", "2024-02-29T10:00:00.000Z"],
    ["month", 1, "2025-03-31T23:59:59.999Z", "2025-04-30T23:59:59.999Z"],
    ["month", 13, "2023-01-31T00:00:00.000Z", "2024-02-29T00:00:00.000Z"],
    ["month", 2, "2025-12-31T06:00:00.000Z", "2026-02-28T06:00:00.000Z"],
    ["month", 1, "2025-02-28T10:00:00.000Z", "2025-03-28T10:00:00.000Z"],
    ["year", 1, "2024-02-29T10:00:00.000Z", "2025-02-28T10:00:00.000Z"],
    ["year", 4, "2024-02-29T10:00:00.000Z", "2028-02-29T10:00:00.000Z"],
    ["year", 100, "2000-02-29T10:00:00.000Z", "2100-02-28T10:00:00.000Z"],
  ])("%s × %d from %s stays in the target month: %s", (unit, value, start, expected) => {
    expect(expireAt(unit, value, start)).toBe(expected);
  });

  it.each<TtlUnit>(["hour", "day", "week", "month", "year"])(
    "a value too large for a Timestamp (%s) becomes the last moment of year 9999",
    (unit) => {
      expect(expireAt(unit, Number.MAX_SAFE_INTEGER, "2025-01-01T00:00:00.000Z")).toBe("9999-12-31T23:59:59.999Z");
    },
  );
});
