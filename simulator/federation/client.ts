// Outbound federation requests: resolve the destination through the directory,
// sign with X-Matrix, send through the homeserver's transport.
import type { HomeserverContext } from '../homeserver/context.ts';
import { NetworkError } from '../net/transport.ts';
import { xMatrixHeader } from './x-matrix.ts';

export async function federationRequest(
  ctx: HomeserverContext,
  destination: string,
  method: string,
  uri: string,
  content?: unknown,
): Promise<Response> {
  const origin = await ctx.directory.originOf(destination);
  if (origin === undefined) throw new NetworkError(`cannot resolve ${destination}`, uri);
  const authorization = await xMatrixHeader(
    {
      method,
      uri,
      origin: ctx.config.serverName,
      destination,
      ...(content === undefined ? {} : { content }),
    },
    ctx.signingKey,
  );
  return ctx.transport(
    new Request(`${origin}${uri}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(content === undefined ? {} : { body: JSON.stringify(content) }),
    }),
  );
}
