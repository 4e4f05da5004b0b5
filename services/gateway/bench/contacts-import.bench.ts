// Contact import bench: `npx node -r ./tools/register.js services/gateway/bench/contacts-import.bench.ts [contacts]`
// (a PostgreSQL at RELAY_PG_URL; creates and drops its own relay_test_* database).
//
// Streams N NDJSON contacts (default 100k, generated lazily: the body never exists in
// memory on either side) over HTTP to a Fastify server that uses the gateway's import
// path — the same pass-through content-type parser and ContactImporter — then imports the
// same N again (all updates). Prints wall time, rate and the process's peak RSS; client
// and server share the process, so the RSS is an upper bound for the server.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify from 'fastify';
import { gatewayConfigSchema, loadConfig } from '@relay/config';
import { createPool, TeamsRepository } from '@relay/control-plane';
import { createMigratedDatabase, dropTestDatabase } from '@relay/testing';
import { ContactImporter, writeLine } from '@relay/scenarios';

const config = loadConfig('gateway', gatewayConfigSchema);
const CONTACTS = Number(process.argv[2] ?? 100_000);
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

function* lines(n: number): Generator<string> {
  let chunk = '';
  for (let i = 1; i <= n; i++) {
    chunk += `${JSON.stringify({ external_id: `b-${i}`, email: `bench${i}@example.com`, name: `Bench ${i}`, tags: ['bench', i % 2 ? 'odd' : 'even'], custom_data: { i, tier: i % 3 ? 'silver' : 'gold' } })}\n`;
    if (i % 200 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function post(url: string): Promise<{ ms: number; last: unknown; progress: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
      let buf = '';
      let progress = 0;
      let last: unknown = null;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const m = JSON.parse(buf.slice(0, nl)) as { type: string };
          buf = buf.slice(nl + 1);
          if (m.type === 'progress') progress++;
          last = m;
        }
      });
      res.on('end', () => resolve({ ms: Date.now() - t0, last, progress }));
    });
    req.on('error', reject);
    pipeline(Readable.from(lines(CONTACTS)), req).catch(reject);
  });
}

async function main(): Promise<void> {
  const dbUrl = await createMigratedDatabase(config.RELAY_PG_URL);
  const pool = createPool(dbUrl, 4);
  const app = Fastify();
  try {
    const team = await new TeamsRepository(pool).create('bench');
    const importer = new ContactImporter(pool);
    app.addContentTypeParser('application/x-ndjson', (_req, payload, done) => done(null, payload));
    app.post('/import', async (req, reply) => {
      const out = new PassThrough();
      void reply.header('content-type', 'application/x-ndjson').send(out);
      const summary = await importer.run(team.id, req.body as Readable, (m) => writeLine(out, m));
      await writeLine(out, { type: 'done', ...summary });
      out.end();
      return reply;
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const target = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/import`;
    const rssBefore = process.memoryUsage().rss;
    for (const label of ['insert', 'update']) {
      const r = await post(target);
      console.log(
        `${label}: ${CONTACTS} contacts in ${r.ms} ms (${Math.round((CONTACTS / r.ms) * 1000)}/s), ${r.progress} progress lines, last ${JSON.stringify(r.last)}`,
      );
    }
    // maxRSS is in KiB.
    console.log(`RSS before ${mb(rssBefore)}, peak ${mb(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    await app.close();
    await pool.end();
    await dropTestDatabase(dbUrl).catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
