import type { IncomingMessage } from 'node:http';
import { stateOf } from './request-state';
import { trackRoute } from './route-template';

/** Prepares a request for observation: start time, route tracking, peer address. */
export function observeRequest(req: IncomingMessage, startTime: number): void {
  const state = stateOf(req);
  // The first piece to observe the request sets its start: standalone pieces mounted later do not move it.
  if (state.startTime === 0) state.startTime = startTime;
  trackRoute(req);
  // Read now: after an abort the socket may no longer know its peer, and Node caches the address.
  void req.socket?.remoteAddress;
}
