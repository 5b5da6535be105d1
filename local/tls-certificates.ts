import { execFile } from 'node:child_process';
import { chown, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateAuthority {
  certFile: string;
  keyFile: string;
}

export interface ServerCertificate {
  certFile: string;
  keyFile: string;
}

/**
 * Throwaway TLS material for local databases (demo and tests), made with the
 * openssl CLI. Short-lived, EC P-256, never meant to leave the machine.
 */
export async function makeCertificateAuthority(dir: string, name = 'rotor-local-ca'): Promise<CertificateAuthority> {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  await run('openssl', [
    'req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', certFile,
  ]);
  return { certFile, keyFile };
}

/**
 * A server certificate signed by `ca` for the given DNS names and IP
 * addresses. With `owner`, the key is handed to that uid/gid (PostgreSQL
 * refuses a key it does not own or that others can read).
 */
export async function makeServerCertificate(
  dir: string,
  ca: CertificateAuthority,
  opts: { commonName?: string; dnsNames?: string[]; ipAddresses?: string[]; owner?: { uid: number; gid: number } } = {},
): Promise<ServerCertificate> {
  const cn = opts.commonName ?? 'localhost';
  const keyFile = path.join(dir, `server-${cn}.key`);
  const csrFile = path.join(dir, `server-${cn}.csr`);
  const certFile = path.join(dir, `server-${cn}.pem`);
  const extFile = path.join(dir, `server-${cn}.ext`);
  const sans = [
    ...(opts.dnsNames ?? ['localhost']).map((d) => `DNS:${d}`),
    ...(opts.ipAddresses ?? ['127.0.0.1']).map((ip) => `IP:${ip}`),
  ];
  await writeFile(extFile, `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  await run('openssl', ['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', csrFile]);
  await run('openssl', [
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', extFile, '-out', certFile,
  ]);
  await run('chmod', ['600', keyFile]);
  if (opts.owner) {
    await chown(keyFile, opts.owner.uid, opts.owner.gid);
    await chown(certFile, opts.owner.uid, opts.owner.gid);
  }
  return { certFile, keyFile };
}
