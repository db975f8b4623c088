/** A composed message's recipients, one per address ("a@x, Bob <b@y>" is two), in nodemailer's order: to, cc, bcc. */
import type { SendMailOptions } from "nodemailer";
import addressparser from "nodemailer/lib/addressparser";

const RECIPIENT_FIELDS = ["to", "cc", "bcc"] as const;

export interface Recipient {
  field: (typeof RECIPIENT_FIELDS)[number];
  name?: string;
  address: string;
}

export function messageRecipients(message: SendMailOptions): Recipient[] {
  const found: Recipient[] = [];
  for (const field of RECIPIENT_FIELDS) {
    const value = message[field];
    const entries = value === undefined ? [] : Array.isArray(value) ? value : [value];
    for (const entry of entries) {
      const parsed: Array<{ name?: string; address?: string }> = typeof entry === "string" ? (addressparser(entry, { flatten: true }) as Array<{ name?: string; address?: string }>) : [entry as { name?: string; address?: string }];
      for (const { name, address } of parsed) if (address) found.push({ field, address, ...(name && { name }) });
    }
  }
  return found;
}

/** `message` with only `keep` as its recipients, each field as nodemailer takes it. */
export function withRecipients(message: SendMailOptions, keep: readonly Recipient[]): SendMailOptions {
  const out: SendMailOptions = { ...message };
  for (const field of RECIPIENT_FIELDS) {
    const list = keep.filter((recipient) => recipient.field === field).map(({ name, address }) => (name ? { name, address } : address));
    if (list.length > 0) out[field] = list;
    else delete out[field];
  }
  return out;
}
