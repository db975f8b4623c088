/** The one reader of HTTP response bodies (a provider's API answer, an attachment download), never holding more than a limit. */
import type { IncomingMessage } from "node:http";

/** The body is longer than the limit (declared so, or by what arrived); reading stopped. */
export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The response body is larger than ${maxBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The connection closed before the body was complete; coded as Node codes that socket error. */
export class IncompleteBodyError extends Error {
  readonly code = "ECONNRESET";
  constructor() {
    super("aborted");
    this.name = "IncompleteBodyError";
  }
}

/**
 * The body, of at most `maxBytes`. Past the limit, `truncate` reads on and
 * drops the rest (for a body that is only quoted); otherwise the response is
 * destroyed and the promise rejects with BodyTooLargeError.
 */
export function readBody(response: IncomingMessage, maxBytes: number, truncate = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      // Before destroying: destroy() emits "aborted" at once, which must not win.
      reject(new BodyTooLargeError(maxBytes));
      response.destroy();
    };
    const declared = Number(response.headers["content-length"]);
    if (!truncate && Number.isFinite(declared) && declared > maxBytes) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (!truncate) tooLarge();
    });
    response.on("error", reject);
    response.on("aborted", () => reject(new IncompleteBodyError()));
    response.on("end", () => (response.complete ? resolve(Buffer.concat(chunks)) : reject(new IncompleteBodyError())));
  });
}
