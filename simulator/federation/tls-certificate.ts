// A homeserver's modelled TLS certificate (see simulator/net/tls.ts): drawn once
// from its rng, published in /_matrix/key/v1 and presented by the network on every
// response of that server.
import { fork } from '../protocol/crypto/rng.ts';
import type { HomeserverContext } from '../homeserver/context.ts';
import { modelCertificate } from '../net/tls.ts';

const certificates = new WeakMap<HomeserverContext, Uint8Array>();

export function serverCertificate(ctx: HomeserverContext): Uint8Array {
  let certificate = certificates.get(ctx);
  if (certificate === undefined) {
    certificate = modelCertificate(fork(ctx.rng, 'tls certificate'));
    certificates.set(ctx, certificate);
  }
  return certificate.slice();
}
