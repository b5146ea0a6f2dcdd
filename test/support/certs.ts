// A throwaway certificate authority, server and client certificates made
// with the openssl command line, for TLS tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Paths of the PEM files made by {@link makeCertificates}. */
export interface Certificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

function issue(dir: string, name: string, subject: string, ca: string, ext?: string): void {
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  const args = ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.crt`, "-days", "2"];
  if (ext) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    args.push("-extfile", `${name}.ext`);
  }
  openssl(args, dir);
}

/** Makes a CA, a server certificate for 127.0.0.1/localhost, and client certificates. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), "edgemq-certs-"));
  for (const ca of ["ca", "stranger-ca"]) {
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.crt`, "-days", "2", "-subj", `/CN=edgemq test ${ca}`], dir);
  }
  issue(dir, "server", "/CN=localhost", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  issue(dir, "client", "/CN=device-1", "ca");
  issue(dir, "stranger", "/CN=device-2", "stranger-ca");
  const p = (f: string) => join(dir, f);
  return {
    dir, caCert: p("ca.crt"), serverCert: p("server.crt"), serverKey: p("server.key"),
    clientCert: p("client.crt"), clientKey: p("client.key"), strangerCert: p("stranger.crt"), strangerKey: p("stranger.key"),
  };
}
