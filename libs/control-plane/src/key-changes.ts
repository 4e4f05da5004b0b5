import { Client } from 'pg';

export const KEY_CHANGES_CHANNEL = 'relay_api_keys';

export type KeyChange = { keyId: string } | { teamId: string } | { all: true };

/**
 * Follows `LISTEN relay_api_keys` (fed by a trigger on api_keys and teams) so every gateway
 * drops a cached key the moment it is revoked, deactivated, expired or re-limited, instead
 * of waiting out the cache TTL. The TTL stays the bound when this feed is down: on every
 * (re)connection the listener reports `{all: true}` because notifications sent while it
 * was away are lost.
 */
export class KeyChangeListener {
  private client: Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly onChange: (change: KeyChange) => void,
    private readonly log: (message: string, error?: unknown) => void = () => undefined,
    private readonly retryMs = 1000,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect().catch((error: unknown) => {
      this.log('key change feed unavailable; relying on the cache TTL until it reconnects', error);
      this.scheduleRetry();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    client.on('notification', (msg) => {
      const payload = msg.payload ?? '';
      if (payload.startsWith('key:')) this.onChange({ keyId: payload.slice(4) });
      else if (payload.startsWith('team:')) this.onChange({ teamId: payload.slice(5) });
      else this.onChange({ all: true });
    });
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.log('key change feed lost; reconnecting', error);
      this.scheduleRetry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${KEY_CHANGES_CHANNEL}`);
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    this.onChange({ all: true });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().catch((error: unknown) => {
        this.log('key change feed still unavailable', error);
        this.scheduleRetry();
      });
    }, this.retryMs);
    this.retryTimer.unref();
  }
}
