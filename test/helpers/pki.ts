// A throwaway certificate authority for TLS tests: keys from node:crypto, certificates from the
// `openssl` command (node:crypto cannot create X.509 certificates). Tests skip when openssl is absent.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface Issued {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: string;
  /** A certificate signed by the CA. `names` become DNS subjectAltNames (none: only a common name). */
  issue(options: { names: string[]; commonName?: string; expired?: boolean; selfSigned?: boolean }): Issued;
}

function key(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "msgauth-pki-"));
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  writeFileSync(join(dir, "ca.key"), key());
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "3",
    "-subj",
    "/CN=msgauth test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    `[ca]\ndefault_ca=test\n[test]\ndir=.\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\ncertificate=ca.crt\nprivate_key=ca.key\ndefault_md=sha256\npolicy=any\nunique_subject=no\ncopy_extensions=none\n[any]\ncommonName=supplied\n`,
  );
  const ca = readFileSync(join(dir, "ca.crt"), "utf8");
  let n = 0;
  return {
    ca,
    issue({ names, commonName, expired, selfSigned }) {
      const base = `leaf${++n}`;
      writeFileSync(join(dir, `${base}.key`), key());
      const ext = [`basicConstraints=CA:FALSE`, `keyUsage=digitalSignature`, `extendedKeyUsage=serverAuth`];
      if (names.length > 0) ext.push(`subjectAltName=${names.map((d) => `DNS:${d}`).join(",")}`);
      writeFileSync(join(dir, `${base}.ext`), `${ext.join("\n")}\n`);
      const subj = `/CN=${commonName ?? names[0] ?? "unnamed"}`;
      if (selfSigned) {
        run([
          "req",
          "-x509",
          "-new",
          "-key",
          `${base}.key`,
          "-out",
          `${base}.crt`,
          "-days",
          "2",
          "-subj",
          subj,
          ...ext.flatMap((e) => ["-addext", e]),
        ]);
      } else {
        run(["req", "-new", "-key", `${base}.key`, "-out", `${base}.csr`, "-subj", subj]);
        const dates = expired ? ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"] : ["-days", "2"];
        run([
          "ca",
          "-batch",
          "-config",
          "ca.cnf",
          "-notext",
          "-in",
          `${base}.csr`,
          "-out",
          `${base}.crt`,
          "-extfile",
          `${base}.ext`,
          ...dates,
        ]);
      }
      return { key: readFileSync(join(dir, `${base}.key`), "utf8"), cert: readFileSync(join(dir, `${base}.crt`), "utf8") };
    },
  };
}
