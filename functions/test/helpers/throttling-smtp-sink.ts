/**
 * An SMTP server on 127.0.0.1 (a free port) that throttles the way mail
 * providers do: at most `messagesPerSecond` messages (a token bucket that
 * holds one second's worth) and at most `maxConnections` connections at
 * once. A connection beyond the limit is greeted with 421 and closed; a
 * message beyond the rate is refused with 451 at MAIL FROM, and the
 * connection stays usable. It records the envelope of each accepted
 * message (not its content, to stay light at thousands of messages) and
 * the envelope of each refused one.
 */
import type { Socket } from "node:net";
import { SMTPServer } from "smtp-server";
import { replyError } from "./smtp-sink";

export interface ThrottlingSinkOptions {
  messagesPerSecond: number;
  maxConnections: number;
}

const RATE_REPLY = "4.7.0 Too many messages, slow down and try again later";
const CONNECTIONS_REPLY = "4.7.0 Too many concurrent connections, try again later";

export interface ThrottlingSink {
  port: number;
  /** Recipients of each accepted message, in arrival order. */
  accepted: string[][];
  /** Messages refused at MAIL FROM (451), and connections refused at connect (421). */
  refused: { messages: number; connections: number };
  /** The most connections that were open at once. */
  peakConnections(): number;
  close(): Promise<void>;
}

export async function startThrottlingSink(options: ThrottlingSinkOptions): Promise<ThrottlingSink> {
  const accepted: string[][] = [];
  const refused = { messages: 0, connections: 0 };
  const sockets = new Set<Socket>();
  let sessions = 0;
  let peak = 0;
  let tokens = options.messagesPerSecond;
  let refilledAt = Date.now();

  const takeToken = (): boolean => {
    const now = Date.now();
    tokens = Math.min(options.messagesPerSecond, tokens + ((now - refilledAt) / 1000) * options.messagesPerSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    closeTimeout: 1000,
    onConnect(session, callback) {
      if (sessions >= options.maxConnections) {
        refused.connections++;
        callback(replyError(421, CONNECTIONS_REPLY));
        return;
      }
      sessions++;
      peak = Math.max(peak, sessions);
      // Counted per session, so that a refused connection never frees a slot.
      (session as { counted?: boolean }).counted = true;
      callback();
    },
    onClose(session) {
      if ((session as { counted?: boolean }).counted) sessions--;
    },
    onMailFrom(_address, _session, callback) {
      if (takeToken()) return callback();
      refused.messages++;
      callback(replyError(451, RATE_REPLY));
    },
    onData(stream, session, callback) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        accepted.push(session.envelope.rcptTo.map((recipient) => recipient.address));
        callback(null);
      });
    },
  });
  server.on("error", () => undefined);
  server.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.server.address();
  if (address === null || typeof address === "string") throw new Error("The throttling sink is not listening on TCP");

  return {
    port: address.port,
    accepted,
    refused,
    peakConnections: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
