import { createServer } from 'node:net';
import { getFreePort, getFreePorts, isPortFree } from './ports';

describe('ports', () => {
  it('returns distinct free ports', async () => {
    const ports = await getFreePorts(8);
    expect(new Set(ports).size).toBe(8);
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
  });

  it('sees a port in use', async () => {
    const port = await getFreePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await isPortFree(port)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
