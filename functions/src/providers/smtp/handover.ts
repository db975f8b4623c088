/**
 * Tells, for each message an SMTP transporter sends, whether the whole of it
 * has been handed to the connection: the last bytes of DATA, the terminating
 * CRLF.CRLF, written to the socket. From then on the server may accept the
 * message at any moment, so a send that fails without a reply after that has
 * an unknown outcome (../shared/unknown-outcome.ts): sending it again could
 * deliver it twice.
 *
 * How it is seen: once the server has answered DATA with 354, nodemailer's
 * SMTP connection pipes the message stream into its own DATA stream, which
 * escapes leading dots, appends the terminator and is itself piped into the
 * socket. That DATA stream ends only after its last chunk, the terminator,
 * has been passed to the socket's write. A "stream" plugin adds a last stage
 * to the message's output that notes the stream it is piped into and waits
 * for that stream's end. The bytes may still sit in the socket's buffers
 * then; the server may or may not get them, which is exactly "unknown".
 *
 * The stage must stay the last one: nodemailer adds DKIM signing and newline
 * conversion after the plugins, and neither can be configured here. If it
 * were ever followed by another stage, the handover would be seen too early
 * or never; the transport tests would show it.
 */
import { PassThrough, pipeline, type Readable } from "node:stream";
import type { Transporter } from "nodemailer";

/** One send's handover, watched from `sendMail` until it settles. */
export interface Handover {
  /** True once the whole message, terminator included, was written to the socket. */
  readonly complete: boolean;
}

export interface HandoverWatch {
  /** Watches the send whose `sendMail` options carry `signal`, which must be that send's own. */
  watch(signal: AbortSignal): Handover;
}

/**
 * Installs the watch on `transporter`. Sends are told apart by their
 * AbortSignal, which each send creates for itself, so a pooled transport
 * sending several messages at once keeps one handover per message.
 */
export function watchHandovers(transporter: Pick<Transporter, "use">): HandoverWatch {
  // Weak: a send's entry goes away with its signal.
  const sends = new WeakMap<AbortSignal, { complete: boolean }>();
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

/** Passes the message through unchanged; the pool may build it more than once (a requeue), each build gets its own stage. */
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
