import { createServer, type Server } from 'node:net';

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `count` distinct ports the OS says are free on `host`. All sockets are held open until
 * every port is picked, so one call never returns the same port twice. Another process can
 * still take a port between this call and the JVM binding it; the services fail fast then.
 */
export async function getFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(host, 0));
    return servers.map((s) => {
      const address = s.address();
      if (typeof address !== 'object' || address === null) throw new Error('no port assigned');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await getFreePorts(1, host);
  return port as number;
}

/** True when nothing listens on host:port (so a fixed or remembered port can be reused). */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    await close(await listen(host, port));
    return true;
  } catch {
    return false;
  }
}
