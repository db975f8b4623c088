import { canonicalLocale, canonicalTimeZone, fallbackChain } from "../../../src/mail/locale";

describe("canonicalLocale", () => {
  it.each([
    ["de", "de"],
    ["de-ch", "de-CH"],
    ["DE-CH", "de-CH"],
    ["de_CH", "de-CH"],
    ["zh-hant-tw", "zh-Hant-TW"],
    ["en-US-u-ca-buddhist", "en-US-u-ca-buddhist"],
  ])("%j is %j", (given, expected) => {
    expect(canonicalLocale(given)).toBe(expected);
  });

  it.each([["" ], ["x"], ["en US"], ["de--CH"], ["12"], ["en-US.UTF-8"], ["a".repeat(65)], [`de-${"x".repeat(62)}`]])("refuses %j", (given) => {
    expect(canonicalLocale(given)).toBeUndefined();
  });

  it.each([[5], [null], [["de"]], [{ toString: () => "de" }]])("refuses %p, which is not a string", (given) => {
    expect(canonicalLocale(given)).toBeUndefined();
  });
});

describe("canonicalTimeZone", () => {
  it.each([
    ["UTC", "UTC"],
    ["Europe/Zurich", "Europe/Zurich"],
    ["europe/zurich", "Europe/Zurich"],
  ])("%j is %j", (given, expected) => {
    expect(canonicalTimeZone(given)).toBe(expected);
  });

  it.each([[""], ["Mars/Olympus"], ["Europe/Zurich\n"], ["a".repeat(65)], [3600]])("refuses %p", (given) => {
    expect(canonicalTimeZone(given)).toBeUndefined();
  });
});

describe("fallbackChain", () => {
  it.each([
    ["de-CH", ["de-CH", "de"]],
    ["de", ["de"]],
    ["zh-Hant-TW", ["zh-Hant-TW", "zh-Hant", "zh"]],
    ["de-CH-u-nu-latn", ["de-CH", "de"]],
  ])("%j tries %j", (locale, chain) => {
    expect(fallbackChain(locale)).toEqual(chain);
  });
});
