/**
 * isPlainMap: the single meaning of "a map" in a mail document.
 */
import { Timestamp } from "firebase-admin/firestore";
import { isPlainMap } from "../../../src/shared/plain-map";

test.each([
  ["an object literal", {}, true],
  ["an object without prototype", Object.create(null), true],
  ["an array", [], false],
  ["null", null, false],
  ["a Timestamp", Timestamp.fromMillis(0), false],
  ["bytes", new Uint8Array(2), false],
  ["a Date", new Date(0), false],
  ["a string", "map", false],
])("%s: %s", (_, value, expected) => {
  expect(isPlainMap(value)).toBe(expected);
});
