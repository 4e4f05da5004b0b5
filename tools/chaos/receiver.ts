import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What one endpoint of the scriptable receiver answers right now:
 * `ok` 200; `status` any code (5xx, 410, 302 with a Location…) with optional headers
 * (e.g. Retry-After); `sleep` answers 200 after `ms` (longer than the endpoint's timeout:
 * a timeout for Relay); `reset` destroys the connection without an answer; `huge` a 200
 * with a body of `bytes`; `hook` runs a side action (e.g. SIGKILL the dispatcher) once the
 * request is in and then answers 200 — "the stage died after its side effect".
 */
export type ReceiverMode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'sleep'; ms: number }
  | { kind: 'reset' }
  | { kind: 'huge'; bytes: number }
  | { kind: 'hook'; action: () => Promise<void> };

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  /** Path of the endpoint: /r/<row>/<role>. */
  path: string;
  webhookId: string;
  /** Event ids (and delivery kinds) in the body: one item, or `events` of a batch. */
  items: { eventId: string; kind: string }[];
  /** What the receiver answered (0: reset, no answer). */
  status: number;
  at: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ScriptableReceiver {
  baseUrl: string;
  log: ReceivedRequest[];
  /** Sets the mode of one endpoint path (default for every path: ok). */
  set(path: string, mode: ReceiverMode): void;
  close(): Promise<void>;
}

function itemsOf(body: string): { eventId: string; kind: string }[] {
  try {
    const parsed = JSON.parse(body) as { events?: unknown[] } & Record<string, unknown>;
    const list = Array.isArray(parsed.events) ? parsed.events : [parsed];
    return list.map((item) => {
      const i = item as { event_id?: unknown; kind?: unknown };
      return { eventId: typeof i.event_id === 'string' ? i.event_id : '', kind: typeof i.kind === 'string' ? i.kind : '' };
    });
  } catch {
    return [];
  }
}

/** One local HTTP server for every endpoint of the run; each path has its own mode and all requests land in one log. */
export async function startReceiver(): Promise<ScriptableReceiver> {
  const modes = new Map<string, ReceiverMode>();
  const log: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      const mode = modes.get(path) ?? { kind: 'ok' };
      const entry: ReceivedRequest = {
        path,
        webhookId: String(req.headers['webhook-id'] ?? ''),
        items: itemsOf(body),
        status: 0,
        at: Date.now(),
        headers: req.headers,
        body,
      };
      log.push(entry);
      const answer = (status: number, headers: Record<string, string> = {}, text = '{"success":true}') => {
        entry.status = status;
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
      };
      switch (mode.kind) {
        case 'ok':
          return answer(200);
        case 'status':
          return answer(mode.status, mode.headers);
        case 'sleep':
          setTimeout(() => answer(200), mode.ms);
          return;
        case 'reset':
          req.socket.resetAndDestroy();
          return;
        case 'huge':
          return answer(200, {}, `{"success":true,"pad":"${'x'.repeat(mode.bytes)}"}`);
        case 'hook':
          modes.set(path, { kind: 'ok' });
          void mode.action().finally(() => answer(200));
          return;
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    set: (path, mode) => modes.set(path, mode),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
