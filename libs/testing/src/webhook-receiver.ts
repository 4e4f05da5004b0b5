import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** Path and query the request was sent to. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Answer = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number } | 'hang';

export interface Receiver {
  url: string;
  /** `127.0.0.1:<port>`: the entry of RELAY_WEBHOOK_ALLOWED_TARGETS that lets webhooks reach it. */
  target: string;
  requests: Received[];
  close(): Promise<void>;
}

type Respond = (n: number, r: Received) => Answer;

/** A started receiver whose answers can be chosen after it listens (see receiverPool). */
async function listening(port: number): Promise<{ receiver: Receiver; answerWith(respond: Respond): void }> {
  const requests: Received[] = [];
  let respond: Respond = () => ({ status: 200 });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(r);
      const answer = respond(requests.length, r);
      if (answer === 'hang') return;
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body ?? '{"success":true}');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return {
    answerWith: (r) => {
      respond = r;
    },
    receiver: {
      url: `http://127.0.0.1:${bound}/hook`,
      target: `127.0.0.1:${bound}`,
      requests,
      close: async () => {
        if (server.listening) {
          server.closeAllConnections();
          server.close();
        }
        await closed;
      },
    },
  };
}

/**
 * A real local HTTP receiver for the webhook e2e specs; `respond` decides each answer
 * (status, body, headers, an optional delay before answering) or never answers: a hang.
 * Requests are recorded when their body has arrived, before the answer. Webhooks reach it
 * only if the services were started with its `target` in RELAY_WEBHOOK_ALLOWED_TARGETS:
 * start it before them (or take it from a receiverPool).
 */
export async function receiver(respond: Respond = () => ({ status: 200 }), port = 0): Promise<Receiver> {
  const started = await listening(port);
  started.answerWith(respond);
  return started.receiver;
}

export interface ReceiverPool {
  /** RELAY_WEBHOOK_ALLOWED_TARGETS allowing every receiver of the pool, and nothing else. */
  allowedTargets: string;
  /** The next unused receiver, answering with `respond`. Closing it leaves an allowed port nobody listens on. */
  take(respond?: Respond): Receiver;
  close(): Promise<void>;
}

/**
 * `size` receivers listening before the services start, so that the services can allow
 * each by its exact host:port (loopback is refused otherwise) while the tests decide
 * later how each one answers.
 */
export async function receiverPool(size: number): Promise<ReceiverPool> {
  const pool = await Promise.all(Array.from({ length: size }, () => listening(0)));
  let next = 0;
  return {
    allowedTargets: pool.map((p) => p.receiver.target).join(','),
    take(respond = () => ({ status: 200 })) {
      const got = pool[next++];
      if (!got) throw new Error(`receiver pool of ${size} exhausted: give receiverPool() a larger size`);
      got.answerWith(respond);
      return got.receiver;
    },
    close: async () => {
      await Promise.all(pool.map((p) => p.receiver.close()));
    },
  };
}
