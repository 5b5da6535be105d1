import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** Throwaway TLS material for local databases (the demo and the tests), made with the openssl CLI (EC P-256, 1-day validity). */

export interface TestCa {
  /** PEM CA certificate (trust anchor for clients). */
  certFile: string;
  /** PEM private key of the CA (PKCS#8, mode 0600). */
  keyFile: string;
}

export interface ServerCert {
  /** PEM leaf certificate signed by the CA (leaf only, no chain). */
  certFile: string;
  /** PEM private key (PKCS#8, unencrypted, mode 0600, chowned to `owner` if given). */
  keyFile: string;
}

export interface MakeCaOptions {
  /** File base name inside dir: `<name>.crt` / `<name>.key`. Default 'ca'. */
  name?: string;
  /** Subject CN. Default 'rotor test CA <random>'. */
  cn?: string;
  days?: number;
}

export interface MakeServerCertOptions {
  cn: string;
  /** SANs: 'DNS:x' / 'IP:x', or bare values (IPs become IP:, others DNS:). Default [cn]. */
  sans?: string[];
  /** File base name inside dir. Default 'server'. */
  name?: string;
  days?: number;
  /** chown the key and cert to this uid/gid (PostgreSQL requires the key be owned by its OS user). */
  owner?: { uid: number; gid: number };
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OPENSSL_CONF: '/dev/null' } }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args[0]} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Subject CNs go through a config file, so keep them to a safe character set. */
function safeCn(cn: string): string {
  if (!/^[A-Za-z0-9 .*_-]{1,64}$/.test(cn)) throw new Error(`certs: unsupported CN ${JSON.stringify(cn)}`);
  return cn;
}

export async function makeTestCa(dir: string, opts: MakeCaOptions = {}): Promise<TestCa> {
  const name = opts.name ?? 'ca';
  const cn = safeCn(opts.cn ?? `rotor test CA ${randomBytes(4).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true });
  const cnf = path.join(dir, `${name}.cnf`);
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await fs.writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${cn}`,
      '[v3_ca]',
      'basicConstraints = critical, CA:TRUE, pathlen:0',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await run(
    'openssl',
    ['req', '-x509', '-new', '-config', cnf, '-extensions', 'v3_ca', ...EC_KEY, '-sha256', '-days', String(opts.days ?? 1), '-keyout', keyFile, '-out', certFile],
    dir,
  );
  await fs.chmod(keyFile, 0o600);
  await fs.chmod(certFile, 0o644);
  await fs.rm(cnf, { force: true });
  return { certFile, keyFile };
}

export async function makeServerCert(dir: string, ca: TestCa, opts: MakeServerCertOptions): Promise<ServerCert> {
  const name = opts.name ?? 'server';
  const cn = safeCn(opts.cn);
  const sans = (opts.sans ?? [opts.cn]).map((s) => {
    if (/^(DNS|IP):/.test(s)) return s;
    return net.isIP(s) ? `IP:${s}` : `DNS:${s}`;
  });
  for (const s of sans) if (!/^(DNS|IP):[A-Za-z0-9.:*_-]+$/.test(s)) throw new Error(`certs: unsupported SAN ${JSON.stringify(s)}`);
  await fs.mkdir(dir, { recursive: true });
  const cnf = path.join(dir, `${name}.cnf`);
  const csr = path.join(dir, `${name}.csr`);
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await fs.writeFile(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${cn}`,
      '[v3_server]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      `subjectAltName = ${sans.join(', ')}`,
      '',
    ].join('\n'),
  );
  await run('openssl', ['req', '-new', '-config', cnf, ...EC_KEY, '-keyout', keyFile, '-out', csr], dir);
  const serial = '0x' + (randomBytes(8)[0] & 0x7f).toString(16).padStart(2, '0') + randomBytes(7).toString('hex');
  await run(
    'openssl',
    ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', serial, '-sha256', '-days', String(opts.days ?? 1), '-extfile', cnf, '-extensions', 'v3_server', '-out', certFile],
    dir,
  );
  await Promise.all([fs.rm(cnf, { force: true }), fs.rm(csr, { force: true })]);
  await fs.chmod(keyFile, 0o600);
  await fs.chmod(certFile, 0o644);
  if (opts.owner) {
    await fs.chown(keyFile, opts.owner.uid, opts.owner.gid);
    await fs.chown(certFile, opts.owner.uid, opts.owner.gid);
  }
  return { certFile, keyFile };
}
