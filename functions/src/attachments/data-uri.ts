/**
 * `data:[<type>][;base64],<data>` URIs, decoded as nodemailer does: base64 when said so, percent-encoded text otherwise.
 * Undefined when the URI has no comma or its percent-encoding is broken.
 */
export function decodeDataUri(uri: string): { bytes: Buffer; type?: string } | undefined {
  const comma = uri.indexOf(",");
  if (!uri.startsWith("data:") || comma < 0) return undefined;
  const meta = uri.slice(5, comma).split(";");
  const data = uri.slice(comma + 1);
  const base64 = meta.slice(1).some((part) => part.trim().toLowerCase() === "base64");
  try {
    const bytes = base64 ? Buffer.from(data, "base64") : Buffer.from(decodeURIComponent(data), "utf8");
    return { bytes, type: meta[0].trim() || undefined };
  } catch {
    return undefined;
  }
}
