/**
 * Shortens text quoted from elsewhere (a server's reply, a provider's error
 * body) to one line of at most `max` characters: `delivery.error` is read by
 * people, and some servers answer with a page of text.
 */
export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}
