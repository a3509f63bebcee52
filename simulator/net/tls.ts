// TLS certificates in the simulator. There is no TLS between in-process handlers,
// yet the 2014 federation text authenticates servers by their certificate: a server
// publishes it at /_matrix/key/v1 and whoever fetches the keys "should check that
// the TLS certificate in the JSON matches the TLS server certificate for the
// connection". We model this:
//
// - a server's certificate is opaque bytes drawn from its seeded rng (a real DER
//   certificate is opaque to that comparison as well);
// - the network presents it: `presentCertificate` wraps a server's handler so that
//   every response carries `x-fedconn-tls-certificate: <unpadded base64>`, set by
//   the network and overwriting anything the handler put there, as a TLS stack
//   reports the peer certificate whatever the application says;
// - a fetching server reads it with `connectionCertificate(response)`.
//
// X.509 name checks of today's profile (certificate valid for the server name or
// the delegated name, never an SRV target) are not modelled by these bytes.
import type { Rng } from '../protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../protocol/encoding/base64.ts';
import type { Handler } from './transport.ts';

export const TLS_CERTIFICATE_HEADER = 'x-fedconn-tls-certificate';

/** Length of a modelled certificate; any fixed size would do. */
export const MODEL_CERTIFICATE_BYTES = 64;

/** A fresh modelled certificate from `rng`. */
export function modelCertificate(rng: Rng): Uint8Array {
  return rng.bytes(MODEL_CERTIFICATE_BYTES);
}

/** Wraps a handler so that its responses carry the certificate of "the connection". */
export function presentCertificate(certificate: Uint8Array, handler: Handler): Handler {
  const encoded = encodeUnpaddedBase64(certificate);
  return async (request) => {
    const response = await handler(request);
    // A handler's own response is set in place (every request pays this); one from fetch
    // has immutable headers, and is rebuilt.
    try {
      response.headers.set(TLS_CERTIFICATE_HEADER, encoded);
      return response;
    } catch {
      // immutable: rebuilt below
    }
    const headers = new Headers(response.headers);
    headers.set(TLS_CERTIFICATE_HEADER, encoded);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

/** The certificate the connection presented, or undefined when there was none (or garbage). */
export function connectionCertificate(response: Response): Uint8Array | undefined {
  const header = response.headers.get(TLS_CERTIFICATE_HEADER);
  if (header === null) return undefined;
  const decoded = decodeBase64(header);
  return decoded.ok ? decoded.value : undefined;
}

// Client certificates (matrix-2014 "Client TLS Certificates", FED-AUTH-06): a server
// may present its own certificate when it connects. The sender sets
// `x-fedconn-tls-client-certificate: <unpadded base64>` on its request, as a TLS
// client hands its certificate to the handshake; the receiver reads it with
// `clientCertificate(request)`.
export const TLS_CLIENT_CERTIFICATE_HEADER = 'x-fedconn-tls-client-certificate';

/** The header value that presents `certificate` as the client certificate. */
export const clientCertificateHeader = (certificate: Uint8Array): string =>
  encodeUnpaddedBase64(certificate);

/**
 * The client certificate a request presented: undefined when none; 'unreadable' when
 * the header is not base64 (a certificate that matches nothing).
 */
export function clientCertificate(request: Request): Uint8Array | 'unreadable' | undefined {
  const header = request.headers.get(TLS_CLIENT_CERTIFICATE_HEADER);
  if (header === null) return undefined;
  const decoded = decodeBase64(header);
  return decoded.ok ? decoded.value : 'unreadable';
}
