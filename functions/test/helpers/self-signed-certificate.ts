/**
 * Self-signed certificates for the test servers (SMTP sinks, https file
 * hosts, provider stand-ins), made with openssl once per process and subject,
 * in a temporary folder that is removed straight away. Clients trust one by
 * passing its `cert` as their CA. (smtp-server's built-in certificate expired.)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certificate {
  key: string;
  cert: string;
}

const made = new Map<string, Certificate>();

/**
 * @param commonName the subject's CN
 * @param altNames subjectAltName entries such as `DNS:localhost`, `IP:127.0.0.1`
 * @param isCa mark it as a CA, for clients that verify it as their only root
 */
export function makeCertificate(commonName: string, altNames: string[], isCa = false): Certificate {
  const id = [commonName, ...altNames, isCa].join("|");
  const cached = made.get(id);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "test-certificate-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    // prettier-ignore
    execFileSync("openssl", [
      "req", "-x509", "-nodes", "-days", "2",
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-subj", `/CN=${commonName}`, "-addext", `subjectAltName=${altNames.join(",")}`,
      ...(isCa ? ["-addext", "basicConstraints=critical,CA:TRUE"] : []),
      "-keyout", keyPath, "-out", certPath,
    ], { stdio: "ignore" });
    const certificate = { key: readFileSync(keyPath, "utf8"), cert: readFileSync(certPath, "utf8") };
    made.set(id, certificate);
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For servers on `localhost` / 127.0.0.1. */
export function selfSignedCertificate(): Certificate {
  return makeCertificate("localhost", ["DNS:localhost", "IP:127.0.0.1"]);
}
