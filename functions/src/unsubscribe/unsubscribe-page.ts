/** The page an unsubscribe link opens: opening changes nothing (scanners prefetch links); its button posts the one-click form. */

export type PageKind = "confirm" | "done" | "invalid" | "failed";

const TEXT: Record<PageKind, { title: string; body: string }> = {
  confirm: { title: "Unsubscribe", body: "Stop sending email to {address}?" },
  done: { title: "You are unsubscribed", body: "No more email will be sent to {address} from this list." },
  invalid: {
    title: "This unsubscribe link is not valid",
    body: "The link is incomplete or was changed, so nothing was done. Open the link from the email again, or reply to the sender.",
  },
  failed: { title: "Please try again", body: "Your request could not be saved just now. Nothing was changed; please try again in a minute." },
};

export function unsubscribePage(kind: PageKind, address?: string): string {
  const { title, body } = TEXT[kind];
  const text = escapeHtml(body).replace("{address}", `<strong>${escapeHtml(address ?? "")}</strong>`);
  const form =
    kind === "confirm"
      ? `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`
      : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p>${text}</p>
${form}
</main>
</body>
</html>
`;
}

/** Headers for every page: never cached, indexed or framed; no script may run. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "X-Robots-Tag": "noindex",
};

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
