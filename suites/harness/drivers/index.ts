// Builds the driver a server's config names.
import type { Transport } from '../../../simulator/net/transport.ts';
import type { DriverConfig } from '../../../simulator/serve/target-config.ts';
import { commandDriver } from './command.ts';
import type { Driver } from './driver.ts';
import { fedconnDriver } from './fedconn.ts';
import { matrixCsDriver } from './matrix-cs.ts';
import { sydentDriver } from './sydent.ts';
import { tomDriver } from './tom.ts';

export function createDriver(
  config: DriverConfig,
  server: { readonly serverName: string; readonly origin: string },
  transport: Transport,
): Driver {
  switch (config.kind) {
    case 'fedconn':
      return fedconnDriver({
        origin: server.origin,
        provisioningToken: config.provisioning_token,
        transport,
      });
    case 'sydent':
      return sydentDriver({
        internalUrl: config.internal_url,
        database: config.database,
        ...(config.rotate_pepper === undefined ? {} : { rotatePepper: config.rotate_pepper }),
        transport,
      });
    case 'tom':
      return tomDriver({ database: config.database });
    case 'matrix-cs':
      return matrixCsDriver({
        origin: server.origin,
        serverName: server.serverName,
        transport,
        ...(config.registration_shared_secret === undefined
          ? {}
          : { registrationSharedSecret: config.registration_shared_secret }),
      });
    case 'command':
      return commandDriver({
        command: config.command,
        ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
        ...(config.env === undefined ? {} : { env: config.env }),
        ...(config.timeout_ms === undefined ? {} : { timeoutMs: config.timeout_ms }),
        server: { serverName: server.serverName, baseUrl: server.origin },
      });
  }
}

export * from './driver.ts';
