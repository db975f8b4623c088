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
import { PassThrough, pipeline, type Readable } from "node:stream";
import type { Transporter } from "nodemailer";
import type { Handover } from "../shared/unknown-outcome";

export interface HandoverWatch {
  /** Watches the send whose `sendMail` options carry `signal`, which must be that send's own. */
  watch(signal: AbortSignal): Handover;
}

/** Sends are told apart by their own AbortSignal, so a pooled transport keeps one handover per message. */
export function watchHandovers(transporter: Pick<Transporter, "use">): HandoverWatch {
  const sends = new WeakMap<AbortSignal, Handover>();
  transporter.use("stream", (mail, done) => {
    const signal = mail.data.signal;
    const handover = signal ? sends.get(signal) : undefined;
    if (handover) {
      mail.message.processFunc((input) =>
        lastStage(input, () => {
          handover.complete = true;
        }),
      );
    }
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

/** The message unchanged; a requeued message is built again and gets a stage of its own. */
function lastStage(input: Readable, handedOver: () => void): Readable {
  // pipeline carries an error of the message's sources to the stage, and so to the connection.
  return pipeline(input, new HandoverStage(handedOver), () => undefined);
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
