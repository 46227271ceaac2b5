import { hostname } from 'node:os';

/** This runner's host name for leases and takeover: $HOSTNAME when exported (containers), else the kernel's. */
export function runnerHost(): string {
  return process.env.HOSTNAME || hostname();
}
