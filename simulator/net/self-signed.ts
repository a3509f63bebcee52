// A self-signed TLS certificate made at run time, for fedconn's servers on loopback
// (its impostors and peers, and `fedconn serve --tls`). Real homeservers federate
// only over HTTPS; test deployments such as Synapse's accept any certificate
// (federation_verify_certificates: false), so the point is a working TLS handshake
// under the names a server can reach without DNS, not a chain anyone trusts.
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';

export interface TlsIdentity {
  /** PEM private key (PKCS #8). */
  readonly key: string;
  /** PEM certificate. */
  readonly cert: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;

/** A certificate for `localhost`, 127.0.0.1 and ::1 (and any `dnsNames`), valid for a week. */
export async function selfSignedIdentity(dnsNames: readonly string[] = []): Promise<TlsIdentity> {
  // Node's Web Crypto (globalThis.crypto), which @peculiar/x509 uses by default.
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await X509CertificateGenerator.createSelfSigned({
    name: 'CN=localhost, O=fedconn test peer',
    // Started a day back: a peer's clock that lags ours must not see it as not yet valid.
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 7 * DAY),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']),
      new SubjectAlternativeNameExtension([
        ...['localhost', ...dnsNames].map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { key: PemConverter.encode(pkcs8, 'PRIVATE KEY'), cert: certificate.toString('pem') };
}

let shared: Promise<TlsIdentity> | undefined;

/** One identity per process for every loopback peer: generating one per peer buys nothing. */
export function loopbackIdentity(): Promise<TlsIdentity> {
  shared ??= selfSignedIdentity();
  return shared;
}
