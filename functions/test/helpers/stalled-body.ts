/**
 * A message body that gives its first bytes and then never ends: a message
 * built with it can never be written to its final dot, so a connection cut
 * while it is being transferred is certainly cut before the handover, however
 * much the loopback socket's buffers would otherwise swallow at once.
 */
import { PassThrough, type Readable } from "node:stream";

export function stalledBody(firstBytes = "The start of a message that never ends.\r\n"): Readable {
  const body = new PassThrough();
  body.write(firstBytes);
  return body;
}
