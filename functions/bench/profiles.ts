/**
 * The cost of sender profiles: a burst spread over several tenants, each
 * with its own profile document and Secret Manager password, on an instance
 * that has read none of them yet (the worst case for the caches).
 */
import { configureExtension, processQueue, useSecrets } from "../test/helpers/extension-env";
import { startFakeSecretManager } from "../test/helpers/fake-secret-manager";
import { startSmtpSink } from "../test/helpers/smtp-sink";
import { burst, type Bench, type BurstResult } from "./scenarios";

export interface ProfilesResult {
  run: BurstResult;
  tenants: number;
  /** Profile documents the function read (Firestore RPCs outside MailStore). */
  profileReads: number;
  /** Requests Secret Manager received (the cache's misses). */
  secretReads: number;
}

const TENANTS = 10;
const AUTH = { user: "bench", password: "bench-profile-password" };

export async function senderProfiles(bench: Bench, count: number, random: () => number): Promise<ProfilesResult> {
  const sink = await startSmtpSink({ auth: AUTH });
  // The real client library against a fake Secret Manager on loopback, which counts the requests it gets.
  const secretManager = await startFakeSecretManager();
  const tenants = Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`);
  for (const tenant of tenants) {
    const version = `${secretManager.addVersion(`projects/${bench.project}/secrets/${tenant}-smtp`, AUTH.password).replace(/\/versions\/[0-9]+$/, "")}/versions/latest`;
    await bench.client.doc(`senderProfiles/${tenant}`).set({
      params: { SMTP_CONNECTION_URI: `smtp://${AUTH.user}@127.0.0.1:${sink.port}?pool=true`, DEFAULT_FROM: `hello@${tenant}.example` },
      secrets: { SMTP_PASSWORD: version },
    });
  }
  configureExtension({
    MAIL_COLLECTION: "tenants/{tenant}/mail",
    SENDER_PROFILES_COLLECTION: "senderProfiles",
    SMTP_CONNECTION_URI: `smtp://127.0.0.1:${bench.sink.port}`,
    DEFAULT_FROM: "Benchmark <bench@example.com>",
  });
  const undo = useSecrets({ endpoint: secretManager.url });
  // processQueue was defined for `mail`: its trigger is registered again for the tenants' collections.
  await bench.driver.register(bench.emulatorHost, { project: bench.project, fn: processQueue, delayMs: (event) => bench.delay(event), document: "tenants/{tenant}/mail/{documentId}" });
  try {
    const readsBefore = bench.rpcs.documentReads;
    const run = await burst(bench, "profiles", count, random, 20, (i) => `tenants/${tenants[i % TENANTS]}/mail`);
    if (sink.messages.length !== count) throw new Error(`The profiles' server received ${sink.messages.length} of ${count} mails`);
    // MailStore reads nothing on the happy path (the table above shows it): every other document read here is a profile's.
    const profileReads = bench.rpcs.documentReads - readsBefore - run.costs.reads * count;
    return { run, tenants: TENANTS, profileReads, secretReads: secretManager.requestCount() };
  } finally {
    undo();
    await secretManager.close();
    await sink.close();
  }
}
