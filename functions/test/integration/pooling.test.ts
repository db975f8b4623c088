/**
 * Connection reuse: by default a warm instance keeps its SMTP connection and
 * login between sends (`?pool=false` turns that off), and a pooled connection
 * the server has dropped never costs a mail: a message none of which was
 * sent goes out on a fresh connection, a message cut off mid-transfer is
 * never sent twice. A TCP proxy in front of the SMTP server counts the
 * connections and plays the server's part in dropping them.
 */

import { parseConfig } from "../../src/config";
import type { MailTransport } from "../../src/providers/provider";
import { createTransport } from "../../src/providers/select-provider";
import { DeliveryError } from "../../src/shared/errors";
import { describeWithEmulator } from "../helpers/emulator-fixture";
import { configureExtension } from "../helpers/extension-env";
import { caught } from "../helpers/caught";
import { mailHarness } from "../helpers/mail-harness";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink";
import { stalledBody } from "../helpers/stalled-body";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";

const PROJECT = "demo-smtp-pooling";
const FROM = "sender@example.com";
const USER = { user: "mailer", password: "pool-pass-7" };

let sink: SmtpSink;
let proxy: TcpProxy;
const transports: MailTransport[] = [];

beforeEach(async () => {
  sink = await startSmtpSink({ auth: USER });
  proxy = await startTcpProxy({ host: sink.host, port: sink.port });
});

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  await proxy.close();
  await sink.close();
});

const uri = (query = "") => `smtp://${USER.user}:${USER.password}@127.0.0.1:${proxy.port}${query}`;

function transportFor(query = ""): MailTransport {
  const transport = createTransport(parseConfig({ SMTP_CONNECTION_URI: uri(query), DEFAULT_FROM: FROM }));
  transports.push(transport);
  return transport;
}

const mail = (subject: string) => ({ from: FROM, to: "ann@example.com", subject, text: "Hi" });
const subjects = () => sink.messages.map((message) => message.parsed.subject);

describe("connection reuse", () => {
  it("is the default: sequential sends share one connection and one login", async () => {
    const transport = transportFor();
    for (const subject of ["1", "2", "3", "4", "5"]) await transport.send(mail(subject));
    expect(subjects()).toEqual(["1", "2", "3", "4", "5"]);
    expect(proxy.connections()).toBe(1);
    expect(sink.authAttempts).toHaveLength(1);
  });

  it("is off with ?pool=false: each send connects and logs in again", async () => {
    const transport = transportFor("?pool=false");
    for (const subject of ["1", "2", "3"]) await transport.send(mail(subject));
    expect(subjects()).toEqual(["1", "2", "3"]);
    expect(proxy.connections()).toBe(3);
    expect(sink.authAttempts).toHaveLength(3);
  });

  it("honours ?maxMessages: the connection is replaced after that many messages", async () => {
    const transport = transportFor("?maxMessages=2");
    for (const subject of ["1", "2", "3"]) await transport.send(mail(subject));
    expect(subjects()).toEqual(["1", "2", "3"]);
    expect(proxy.connections()).toBe(2);
  });
});

describe("a pooled connection the server drops", () => {
  it("closed while idle: the next send opens a new connection and is delivered once", async () => {
    const transport = transportFor();
    await transport.send(mail("before"));
    proxy.closeAll();
    await proxy.waitForIdle();
    await transport.send(mail("after"));
    expect(subjects()).toEqual(["before", "after"]);
    expect(proxy.connections()).toBe(2);
  });

  it("gone without the client noticing: the message, not yet sent, goes out on a new connection, once", async () => {
    const transport = transportFor();
    await transport.send(mail("before"));
    // The client's next write (MAIL FROM) is answered with a reset.
    proxy.breakAll();
    const info = await transport.send(mail("after"));
    expect(info.accepted).toEqual(["ann@example.com"]);
    expect(subjects()).toEqual(["before", "after"]);
    expect(proxy.connections()).toBe(2);
  });

  it("cut before the message's end was written: the send fails, is not repeated, and may be retried later", async () => {
    const transport = transportFor();
    await transport.send(mail("before"));
    proxy.dropWhenClientSends("Subject: cut-off");
    const error = await caught(DeliveryError, transport.send({ ...mail("cut-off"), text: stalledBody() }));
    // The final dot was never written, so the server cannot have kept the message.
    expect(error).toMatchObject({ code: "connection-failed", transient: true });
    expect(subjects()).toEqual(["before"]);
    expect(proxy.connections()).toBe(1);
  });

  it("cut once the whole message was written: the send fails as outcome-unknown and is not repeated", async () => {
    const transport = transportFor();
    await transport.send(mail("before"));
    // The bytes carrying the final dot (".\r\n", written last, nowhere else in this
    // session) never reach the server; the client cannot know that.
    proxy.dropWhenClientSends(".\r\n");
    const error = await caught(DeliveryError, transport.send(mail("cut-at-the-end")));
    expect(error).toMatchObject({ code: "outcome-unknown", transient: false });
    expect(subjects()).toEqual(["before"]);
    expect(proxy.connections()).toBe(1);
  });
});

describeWithEmulator("processQueue on a warm instance", () => {
  const h = mailHarness(PROJECT);

  beforeEach(() => {
    configureExtension({ SMTP_CONNECTION_URI: uri(), DEFAULT_FROM: FROM });
  });

  afterAll(() => configureExtension({}));

  it("sends consecutive mail documents over one connection and one login", async () => {
    for (const id of ["a", "b", "c"]) {
      const snap = await h.trigger.create(`mail/${id}`, { to: "ann@example.com", message: { subject: id, text: "Hi" } });
      expect(snap.get("delivery.state")).toBe("SUCCESS");
    }
    expect(subjects()).toEqual(["a", "b", "c"]);
    expect(proxy.connections()).toBe(1);
    expect(sink.authAttempts).toHaveLength(1);
  });
});
