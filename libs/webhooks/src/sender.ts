import { Agent, buildConnector, request } from 'undici';
import { guardedLookup, type WebhookTargetPolicy } from './url-policy';
import { parseRetryAfter } from './schedule';

export interface SendResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  latencyMs: number;
  snippet: string | null;
  retryAfterMs: number | null;
}

const SNIPPET_BYTES = 1024;
/** Bytes read from a response at most: enough for `{"success": true}` and a snippet. */
const READ_CAP_BYTES = 16 * 1024;

/**
 * POSTs with undici on a keep-alive pool per origin. Redirects are not followed (undici's
 * `request` never follows them; a 3xx is a failure), the response body is read up to a
 * cap and then discarded, and every connection goes through the target policy: an IP
 * literal is judged (as written) before the request, a name through `guardedLookup`, so the address
 * connected to is the address checked (DNS rebinding cannot sneak a private address in
 * after the endpoint was created).
 */
export class WebhookSender {
  private readonly agent: Agent;
  /** One connector per port: a lookup is not told the port it resolves for. */
  private readonly connectors = new Map<number, buildConnector.connector>();

  constructor(private readonly policy: WebhookTargetPolicy) {
    this.agent = new Agent({
      connections: 64,
      keepAliveTimeout: 30000,
      connect: (options, callback) => {
        const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
        // IP literals never reach a lookup: post() judged them as written; a pool is per origin.
        let connector = this.connectors.get(port);
        if (!connector) {
          connector = buildConnector({ lookup: guardedLookup(this.policy, port), timeout: 5000 });
          this.connectors.set(port, connector);
        }
        connector(options, callback);
      },
    });
  }

  async post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, contract: '2xx' | 'strict'): Promise<SendResult> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    const refused = this.policy.literalRefusal(url);
    if (refused) return { ok: false, status: null, error: `URL_FORBIDDEN_ADDRESS: ${refused}`, latencyMs: 0, snippet: null, retryAfterMs: null };
    try {
      const res = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'user-agent': 'Relay-Webhooks/1', ...headers },
        dispatcher: this.agent,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const chunks: Buffer[] = [];
      let read = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        read += chunk.length;
        if (read >= READ_CAP_BYTES) break; // leaving the loop destroys the stream: the cap
      }
      const text = Buffer.concat(chunks).subarray(0, READ_CAP_BYTES).toString('utf8');
      const status = res.statusCode;
      let ok = status >= 200 && status < 300;
      let error: string | null = ok ? null : `HTTP ${status}`;
      if (ok && contract === 'strict') {
        // Seed 001: HTTP 200 with {"success": true}; anything else is a failure.
        let success = false;
        try {
          success = status === 200 && (JSON.parse(text) as { success?: unknown }).success === true;
        } catch {
          success = false;
        }
        if (!success) {
          ok = false;
          error = 'STRICT_CONTRACT: expected HTTP 200 with {"success": true}';
        }
      }
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : null;
      return { ok, status, error, latencyMs: latency(), snippet: text.length > 0 ? text.slice(0, SNIPPET_BYTES) : null, retryAfterMs };
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
      const code = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'TIMEOUT' : (e.code ?? e.cause?.code ?? 'NETWORK_ERROR');
      const message = code === 'TIMEOUT' ? `no response within ${timeoutMs} ms` : (e.message ?? String(err));
      return { ok: false, status: null, error: `${code}: ${message}`.slice(0, 500), latencyMs: latency(), snippet: null, retryAfterMs: null };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
