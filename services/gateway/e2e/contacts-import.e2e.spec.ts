import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { startRelay, type RelayUnderTest } from '@relay/testing';

/** Bulk NDJSON contact import on the real gateway and PostgreSQL (docs/scenarios.md). */
interface Message {
  type: string;
  line?: number;
  code?: string;
  errors?: string[];
  lines?: number;
  created?: number;
  updated?: number;
  failed?: number;
}

describe('contacts NDJSON import', () => {
  let relay: RelayUnderTest;
  let pg: Client;

  beforeAll(async () => {
    relay = await startRelay({ services: ['gateway'] });
    pg = new Client({ connectionString: relay.pgUrl });
    await pg.connect();
  }, 180000);

  afterAll(async () => {
    await pg?.end();
    await relay?.stop();
  }, 60000);

  /** Starts a streamed import; the caller writes the body and reads progress as it comes. */
  const startImport = () => {
    const url = new URL('/v1/contacts/import', relay.gatewayUrl);
    const req = httpRequest(url, { method: 'POST', headers: { 'x-api-key': relay.apiKey, 'content-type': 'application/x-ndjson' } });
    const response = new Promise<IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject));
    const messages: Message[] = [];
    const done = response.then(async (res) => {
      for await (const line of createInterface({ input: res })) messages.push(JSON.parse(line) as Message);
      return res.statusCode;
    });
    return { req, messages, done };
  };

  const contactLine = (i: number) => JSON.stringify({ external_id: `imp-${i}`, email: `imp${i}@example.com`, tags: ['imported'], custom_data: { n: i } });

  it('streams 2,500 lines in batches, reports each bad line by number, and never stops for one', async () => {
    await fetch(`${relay.gatewayUrl}/v1/contacts/existing`, {
      method: 'PUT',
      headers: { 'x-api-key': relay.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'taken@example.com', name: 'Old', custom_data: { keep: 1, drop: 2 } }),
    });
    const { req, messages, done } = startImport();
    const bad = new Map<number, string>([
      [3, '{"email": "broken@example.com"'], // invalid JSON
      [10, JSON.stringify({ email: 'not-an-email' })],
      [11, JSON.stringify({ email: 'x@example.com', shoe_size: 42 })],
      [12, JSON.stringify({ external_id: 'imp-1', email: 'taken@example.com' })], // imp-1 (line 1) and taken@ are two contacts
      [20, JSON.stringify({ id: 'x'.repeat(300) })],
    ]);
    const lineOf = (n: number) =>
      n === 5
        ? ''
        : n === 6
          ? JSON.stringify({ email: 'TAKEN@example.com', name: 'New', custom_data: { drop: null, added: true } })
          : (bad.get(n) ?? contactLine(n));
    // First 1,500 lines, then wait for the first batch's progress *before* sending the
    // rest: the import is processed while the body is still arriving (not buffered).
    for (let n = 1; n <= 1500; n++) req.write(`${lineOf(n)}\n`);
    const deadline = Date.now() + 30000;
    const full = () => messages.find((m) => m.type === 'progress' && (m.lines ?? 0) >= 1000);
    while (!full() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const early = full();
    expect(early?.lines).toBeGreaterThanOrEqual(1000);
    expect(early?.lines).toBeLessThanOrEqual(1500);
    for (let n = 1501; n <= 2500; n++) req.write(`${lineOf(n)}${n === 2500 ? '' : '\n'}`); // no final newline
    req.end();
    expect(await done).toBe(200);

    // Parse errors are reported as read, conflicts when their batch is written: sort by line.
    const errors = messages.filter((m) => m.type === 'error').sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [3, 'INVALID_JSON'],
      [10, 'VALIDATION_FAILED'],
      [11, 'VALIDATION_FAILED'],
      [12, 'IDENTITY_CONFLICT'],
      [20, 'VALIDATION_FAILED'],
    ]);
    expect(errors[2]?.errors?.join()).toContain('shoe_size');
    expect(errors[3]?.errors?.join()).toContain('email belongs to contact existing');
    expect(messages.filter((m) => m.type === 'progress').length).toBeGreaterThanOrEqual(3);
    // 2,500 lines: one blank, five bad, one update of "existing", 2,493 new contacts.
    expect(messages.at(-1)).toEqual({ type: 'done', lines: 2500, created: 2493, updated: 1, failed: 5 });

    const { rows } = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM contacts WHERE team_id = $1 AND 'imported' = ANY (tags)`, [relay.teamId]);
    expect(Number(rows[0]?.n)).toBe(2493);
    const existing = await pg.query<{ name: string; custom_data: unknown }>(`SELECT name, custom_data FROM contacts WHERE team_id = $1 AND id = 'existing'`, [
      relay.teamId,
    ]);
    expect(existing.rows[0]).toEqual({ name: 'New', custom_data: { keep: 1, added: true } });
    const last = await pg.query<{ email: string; custom_data: unknown }>(
      `SELECT email, custom_data FROM contacts WHERE team_id = $1 AND external_id = 'imp-2500'`,
      [relay.teamId],
    );
    expect(last.rows[0]).toEqual({ email: 'imp2500@example.com', custom_data: { n: 2500 } });
  });

  it('re-importing updates instead of duplicating, and refuses other content types', async () => {
    const { req, messages, done } = startImport();
    // Two lines naming one contact in one batch: both apply, in order.
    req.end(`${contactLine(7)}\n${JSON.stringify({ email: 'imp7@example.com', name: 'Seven' })}\n`);
    expect(await done).toBe(200);
    expect(messages.at(-1)).toEqual({ type: 'done', lines: 2, created: 0, updated: 2, failed: 0 });
    const { rows } = await pg.query<{ name: string; n: string }>(
      `SELECT name, (SELECT count(*) FROM contacts WHERE team_id = $1) AS n FROM contacts WHERE team_id = $1 AND external_id = 'imp-7'`,
      [relay.teamId],
    );
    expect(rows[0]).toEqual({ name: 'Seven', n: '2494' });

    const json = await fetch(`${relay.gatewayUrl}/v1/contacts/import`, {
      method: 'POST',
      headers: { 'x-api-key': relay.apiKey, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(await json.json()).toMatchObject({ success: false, code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});
