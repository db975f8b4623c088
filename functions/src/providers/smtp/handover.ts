/**
 * Tells, for each message an SMTP transporter sends, whether all of it (the
 * DATA terminator CRLF.CRLF included) has been written to the socket: from
 * then on the server may accept it at any moment, so a failure without a
 * reply leaves the outcome unknown and a resend could deliver it twice.
 *
 * A "stream" plugin adds a last stage to the message's output; nodemailer
 * pipes that into its DATA stream, which ends only after the terminator was
 * passed to the socket's write. The stage must stay last (nodemailer adds
 * DKIM signing and newline conversion after plugins, neither configured
 * here), or the handover would be seen too early or never.
 */
import { PassThrough, pipeline } from "node:stream";
import type { Transporter } from "nodemailer";
import type { Handover } from "../shared/unknown-outcome";

/**
 * `watch(signal)` follows the send whose `sendMail` options carry `signal`, which must be that send's own:
 * sends are told apart by it, so a pooled transport keeps one handover per message.
 */
export function watchHandovers(transporter: Pick<Transporter, "use">): { watch(signal: AbortSignal): Handover } {
  const sends = new WeakMap<AbortSignal, Handover>();
  transporter.use("stream", (mail, done) => {
    const signal = mail.data.signal;
    const handover = signal ? sends.get(signal) : undefined;
    // The stage passes the message unchanged (a requeued message is rebuilt with a stage of its own);
    // pipeline carries an error of the message's sources through it to the connection.
    if (handover) mail.message.processFunc((input) => pipeline(input, new HandoverStage(() => (handover.complete = true)), () => undefined));
    done();
  });
  return {
    watch(signal) {
      const handover = { complete: false };
      sends.set(signal, handover);
      return handover;
    },
  };
}

class HandoverStage extends PassThrough {
  constructor(private readonly handedOver: () => void) {
    super();
  }

  /** The connection pipes the message into its DATA stream; that stream's end is the handover. */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    destination.once("end", this.handedOver);
    return super.pipe(destination, options);
  }
}
