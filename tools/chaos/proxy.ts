import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * How the proxy treats traffic right now:
 * - `pass`: forward both ways;
 * - `down`: every open connection is reset and new ones are closed at once (a dependency
 *   that crashed or restarted);
 * - `stall`: connections stay open but no byte moves either way (a frozen host);
 * - `delay`: each chunk is held `delayMs ± jitterMs` before it is forwarded.
 */
export type ProxyMode = { kind: 'pass' } | { kind: 'down' } | { kind: 'stall' } | { kind: 'delay'; delayMs: number; jitterMs: number };

export interface FaultProxy {
  /** Port to point clients at (127.0.0.1). */
  port: number;
  mode: ProxyMode;
  set(mode: ProxyMode): void;
  /** Connections currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of one dependency (PostgreSQL, the schema registry) whose behaviour
 * the chaos run switches while the pipeline runs. Hand-rolled on node:net rather than
 * Toxiproxy: ~60 lines, no extra daemon or binary to fetch on a machine with no image
 * registry, and the run needs only four behaviours. Kafka is not proxied: clients reconnect
 * to the advertised listener the broker returns, so a bootstrap proxy would not see the
 * data traffic; broker faults are signals to the JVM instead.
 */
export async function startProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let mode: ProxyMode = { kind: 'pass' };
  const stalled: (() => void)[] = [];

  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      const send = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (mode.kind === 'pass') return send();
      if (mode.kind === 'delay') {
        // Pause the source so chunks keep their order while held.
        from.pause();
        const wait = Math.max(0, mode.delayMs + (Math.random() * 2 - 1) * mode.jitterMs);
        setTimeout(() => {
          send();
          from.resume();
        }, wait);
        return;
      }
      // stall (or down, racing the reset): hold the chunk until the mode changes.
      from.pause();
      stalled.push(() => {
        send();
        from.resume();
      });
    });
  };

  const server: Server = createServer((client) => {
    if (mode.kind === 'down') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const proxy: FaultProxy = {
    port: (server.address() as AddressInfo).port,
    get mode() {
      return mode;
    },
    set(next) {
      mode = next;
      if (next.kind === 'down') {
        for (const [a, b] of pairs) {
          a.resetAndDestroy();
          b.resetAndDestroy();
        }
        pairs.clear();
      }
      if (next.kind !== 'stall') for (const release of stalled.splice(0)) release();
    },
    connections: () => pairs.size,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.set({ kind: 'down' });
        server.close(() => resolve());
      }),
  };
  return proxy;
}
