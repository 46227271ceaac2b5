/** A TCP port free on `address` (loopback by default) right now: the sandbox's servers and tests listen on it. */
import { createServer, type AddressInfo } from 'node:net';

export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
