/** One line of at most `max` characters: quoted server replies go into `delivery.error`, read by people. */
export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/** What failed, then what to do, for `delivery.error`; quoted server text may already end the first sentence. */
export const sentence = (what: string, advice: string): string => `${what}${/[.!?]$/.test(what) ? "" : "."} ${advice}`;
