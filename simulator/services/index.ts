// Every service of a reference homeserver, on one HTTP surface.
import type { Service } from '../homeserver/homeserver.ts';
import { authenticationService } from './as/as.ts';
import { deliveryService } from './ds/ds.ts';
import { identityService } from './identity/index.ts';
import { keysService } from './keys/index.ts';
import { queuingService } from './qs/qs.ts';
import { roomsService } from './rooms/index.ts';
import { wellKnownService } from './well-known/index.ts';

export const ALL_SERVICES: readonly Service[] = [
  authenticationService,
  queuingService,
  deliveryService,
  keysService,
  wellKnownService(),
  roomsService,
  identityService,
];
