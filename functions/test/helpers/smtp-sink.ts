/**
 * An in-process SMTP server on 127.0.0.1 (a free port) that records what it
 * receives and can be scripted to fail in each way a real server does:
 * refused credentials, refused recipients, a refusal after DATA, a server that
 * never greets, a connection dropped mid-message, TLS with a self-signed
 * certificate. Shared by the transport tests and the delivery tests.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { selfSignedCertificate } from "./self-signed-certificate";

export interface SmtpSinkOptions {
  /** Require AUTH (PLAIN or LOGIN) with these credentials. Without it, AUTH is not offered. */
  auth?: { user: string; password: string };
  /** Refuse these recipients at RCPT TO with the given reply code. Keys are compared case-insensitively. */
  rejectRecipients?: Record<string, 550 | 451>;
  /** Refuse every message after its data was received. */
  rejectData?: 554 | 451;
  /** Accept the connection but never greet: `true` for every connection, a number for the first N. */
  hang?: boolean | number;
  /** Drop the connection as soon as message data starts to arrive. */
  dropMidData?: boolean;
  /** Close the connection without a reply when RCPT TO names this address: a failure before any of the message was sent. */
  dropAtRecipient?: string;
  /**
   * Take the whole message (recorded in `messages`), then never answer the
   * final dot: `true` for every message, a number for the first N. The
   * client cannot know whether the server kept the message.
   */
  silentAfterData?: boolean | number;
  /** Take the whole message (recorded in `messages`), then close the connection without answering: `true` for every message, a number for the first N. */
  dropAfterData?: boolean | number;
  /**
   * TLS with a fresh self-signed certificate for `localhost` and 127.0.0.1:
   * `"implicit"` from the first byte (clients use `secure: true`), or
   * `"starttls"` offered as an upgrade. Without it STARTTLS is not offered,
   * because smtp-server's built-in certificate has expired.
   */
  tls?: "implicit" | "starttls";
  /**
   * Announce DSN (RFC 3461) in EHLO and record the parameters each message
   * came with in `envelope.dsn`. Without it the server, like smtp-server by
   * default, does not announce DSN, and clients must not send them.
   */
  dsn?: boolean;
  /**
   * Runs once a message has been received and recorded, before the server
   * replies 250 (or stays silent, or drops the connection, as told above):
   * a test can hold the reply (to act during a send) or kill the sending
   * process (a crash after the mail went out).
   */
  beforeReply?: (mail: ReceivedMail) => Promise<void> | void;
}

/** The DSN parameters of one message as the server decoded them from MAIL FROM and each RCPT TO. */
export interface ReceivedDsn {
  /** `RET`: "FULL" or "HDRS"; null when not sent. */
  ret: string | null;
  /** `ENVID`, xtext-decoded; null when not sent. */
  envid: string | null;
  /** `NOTIFY` of each recipient, in `rcptTo` order; null where not sent. */
  notify: Array<string[] | null>;
}

/** One message as the server received it: parsed, plus the SMTP envelope and the raw bytes. */
export interface ReceivedMail {
  /** The message as mailparser's `simpleParser` reads it. */
  parsed: ParsedMail;
  /** `dsn` only when the sink announces DSN (the `dsn` option). */
  envelope: { mailFrom: string; rcptTo: string[]; dsn?: ReceivedDsn };
  raw: Buffer;
  /** Whether the session was encrypted (implicit TLS or after STARTTLS). */
  secure: boolean;
}

export interface SmtpSink {
  host: string;
  port: number;
  /** Every accepted message, in arrival order. */
  messages: ReceivedMail[];
  /** Every AUTH attempt, with the password exactly as the server decoded it. */
  authAttempts: Array<{ username: string; password: string }>;
  /** TCP connections currently open. */
  openConnections(): number;
  /** SMTP sessions opened since the sink started, for connection-reuse figures. */
  connectionsOpened(): number;
  /** Resolves with `messages` once at least `count` have arrived; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Resolves once no connection is open, for tests that a client tore its connection down. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Accepts only these credentials from now on and drops open sessions, as a server does when a password is changed. */
  setAuth(auth: { user: string; password: string }): void;
  /** Refuses these recipients from now on instead of those given before (a mailbox that was busy accepts again). */
  setRejectRecipients(rejectRecipients: Record<string, 550 | 451>): void;
  /** Destroys open connections and stops listening. */
  close(): Promise<void>;
}

const REPLIES = {
  550: "5.1.1 Recipient rejected",
  451: "4.2.0 Mailbox busy, try again later",
  554: "5.6.0 Message rejected",
} as const;
const DATA_REPLIES = { 554: REPLIES[554], 451: "4.3.0 Try again later" } as const;

export async function startSmtpSink(given: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const options = { ...given };
  const messages: ReceivedMail[] = [];
  const authAttempts: SmtpSink["authAttempts"] = [];
  const sockets = new Set<Socket>();
  // Fired on every change a test may wait for: a message arriving, a connection closing.
  const changes = new EventEmitter();
  let connections = 0;
  const rejected = new Map(
    Object.entries(options.rejectRecipients ?? {}).map(([address, code]) => [address.toLowerCase(), code] as const),
  );
  const certificate = options.tls ? selfSignedCertificate() : undefined;

  const serverOptions: SMTPServerOptions = {
    logger: false,
    // Reverse DNS of 127.0.0.1 can take up to 1.5 s per connection.
    disableReverseLookup: true,
    secure: options.tls === "implicit",
    key: certificate?.key,
    cert: certificate?.cert,
    disabledCommands: [...(options.tls === "starttls" ? [] : ["STARTTLS"]), ...(options.auth ? [] : ["AUTH"])],
    hideDSN: !options.dsn,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    // Connections are destroyed by close() itself; this only bounds a stray one.
    closeTimeout: 1000,

    onConnect(_session, callback) {
      connections += 1;
      if (!firstN(options.hang, connections)) callback();
    },

    onAuth(auth, _session, callback) {
      authAttempts.push({ username: auth.username ?? "", password: auth.password ?? "" });
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.password) {
        callback(null, { user: auth.username });
      } else {
        callback(replyError(535, "5.7.8 Authentication credentials invalid"));
      }
    },

    onRcptTo(address, session, callback) {
      if (options.dropAtRecipient !== undefined && address.address.toLowerCase() === options.dropAtRecipient.toLowerCase()) {
        topSocket(session.id)?.destroy();
        return;
      }
      const code = rejected.get(address.address.toLowerCase());
      callback(code ? replyError(code, `${REPLIES[code]} <${address.address}>`) : null);
    },

    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (options.dropMidData) topSocket(session.id)?.destroy();
      });
      stream.on("end", () => {
        if (options.rejectData) {
          callback(replyError(options.rejectData, DATA_REPLIES[options.rejectData]));
          return;
        }
        const raw = Buffer.concat(chunks);
        const { dsn } = session.envelope;
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          ...(dsn && { dsn: { ret: dsn.ret ?? null, envid: dsn.envid ?? null, notify: session.envelope.rcptTo.map((recipient) => recipient.dsn?.notify ?? null) } }),
        };
        // Parse before replying, so the message is recorded by the time the client sees 250.
        simpleParser(raw).then(
          async (parsed) => {
            const mail = { parsed, envelope, raw, secure: session.secure };
            messages.push(mail);
            changes.emit("change");
            const count = messages.length;
            await options.beforeReply?.(mail);
            // Silent: the reply is never sent, close() ends the session.
            if (firstN(options.silentAfterData, count)) return;
            if (firstN(options.dropAfterData, count)) {
              topSocket(session.id)?.destroy();
              return;
            }
            callback(null);
          },
          (error: Error) => callback(error),
        );
      });
    },
  };

  const server = new SMTPServer(serverOptions);
  // The raw TCP sockets, only to count them. They are never destroyed from
  // here: destroying a TCP socket under a live TLS socket crashes Node 20
  // (segmentation fault), so sockets are ended at their top layer instead.
  server.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      changes.emit("change");
    });
  });
  /** The outermost socket of a session: the TLS socket once TLS is up, else the TCP one. */
  function topSocket(sessionId: string): Socket | undefined {
    for (const connection of server.connections) if (connection.id === sessionId) return connection._socket;
    return undefined;
  }
  // smtp-server reports client errors (resets, TLS failures) here; they are expected in these tests.
  server.on("error", () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.server.off("error", reject);
      resolve();
    });
  });
  const address = server.server.address();
  if (address === null || typeof address === "string") throw new Error("The SMTP sink is not listening on TCP");

  return {
    host: "127.0.0.1",
    port: address.port,
    messages,
    authAttempts,
    openConnections: () => sockets.size,
    setAuth(auth) {
      options.auth = auth;
      for (const socket of sockets) socket.destroy();
    },
    setRejectRecipients(rejectRecipients) {
      rejected.clear();
      for (const [address, code] of Object.entries(rejectRecipients)) rejected.set(address.toLowerCase(), code);
    },
    connectionsOpened: () => connections,
    waitForMessages: async (count, timeoutMs = 5000) => {
      await until(changes, () => messages.length >= count, timeoutMs, () => `${count} message(s), got ${messages.length}`);
      return messages;
    },
    waitForIdle: (timeoutMs = 5000) =>
      until(changes, () => sockets.size === 0, timeoutMs, () => `all connections to close, ${sockets.size} open`),
    close: () =>
      new Promise<void>((resolve) => {
        // Mid-STARTTLS sockets are left to smtp-server's closeTimeout, for the same reason;
        // it also destroys sockets still in an implicit TLS handshake.
        for (const connection of server.connections) if (!connection._upgrading) connection._socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Whether an option given as `true` (always) or a number N (the first N) applies to the `count`th message. */
function firstN(option: boolean | number | undefined, count: number): boolean {
  return option === true || (typeof option === "number" && count <= option);
}

/** An error that smtp-server answers with `responseCode` and `message`. */
export function replyError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/** Resolves when `condition` holds, re-checking on every change event; never leaves a timer behind. */
function until(changes: EventEmitter, condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!condition()) return;
      clearTimeout(timer);
      changes.off("change", check);
      resolve();
    };
    const timer = setTimeout(() => {
      changes.off("change", check);
      reject(new Error(`SMTP sink: timed out after ${timeoutMs} ms waiting for ${what()}`));
    }, timeoutMs);
    changes.on("change", check);
  });
}

// Kept here too: the TLS and transport tests import it with the sink.
export { selfSignedCertificate };
