import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ContactsRepository } from './contacts';
import { ScenariosError } from './errors';
import { parseContactInput, type ContactInput } from './model';

/** Counts so far; `lines` includes blank and bad lines. */
export interface ImportProgress {
  lines: number;
  created: number;
  updated: number;
  failed: number;
}

export type ImportMessage = { type: 'error'; line: number; code: string; errors: string[] } | ({ type: 'progress' } & ImportProgress);

export interface ImportOptions {
  /** Lines per upsert statement. */
  batchSize?: number;
  /** Longer lines are reported as bad and skipped without being buffered. */
  maxLineBytes?: number;
}

const TOO_LONG = '\u0000LINE_TOO_LONG';

/**
 * Caps the bytes of one line before node:readline sees it. readline (and split2 in its
 * default mode) buffers a line until its newline, so one 2 GB "line" would sit in memory;
 * split2's maxLength either fails the stream or drops the line silently, which would lose
 * the line numbers we report. This keeps the first `max` bytes, drops the rest until the
 * newline and marks the line so the reader reports it as too long.
 */
class LineCap extends Transform {
  private length = 0;
  private skipping = false;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.skipping) {
        if (this.length + (end - start) > this.max) {
          this.skipping = true;
          this.push(TOO_LONG);
        } else {
          this.push(chunk.subarray(start, end));
          this.length += end - start;
        }
      }
      if (nl === -1) break;
      this.push('\n');
      this.length = 0;
      this.skipping = false;
      start = nl + 1;
    }
    done();
  }
}

interface Pending {
  line: number;
  input: ContactInput;
}

interface Row {
  n: number;
  status: 'created' | 'updated' | 'conflict' | 'deferred';
  by_id: string | null;
  by_ext: string | null;
  by_email: string | null;
  by_phone: string | null;
  target: string | null;
}

// One statement per batch: resolve every line's target (id, else external_id, else email,
// else phone: the rule of POST /v1/contacts), refuse lines whose identifiers name two
// different contacts, update the found ones (fields given replace, custom_data merged key
// by key, null removes) and insert the rest, then notify the matchers of the updated ones
// (inserted contacts cannot be in any cache: unknown identifiers are never cached).
// Two lines of a batch landing on one existing contact are "deferred" (an UPDATE touches a
// row once per statement) and run again in the next statement.
const UPSERT = `
WITH i AS (
  SELECT * FROM unnest($2::int[], $3::jsonb[], $4::text[]) AS i(n, doc, new_id)
), r AS MATERIALIZED (
  -- Materialized: each line's four index lookups run once, not once per use of target.
  SELECT i.*,
    (SELECT c.id FROM contacts c WHERE c.team_id = $1 AND c.id = i.doc->>'id') AS by_id,
    (SELECT c.id FROM contacts c WHERE c.team_id = $1 AND c.external_id = i.doc->>'external_id') AS by_ext,
    (SELECT c.id FROM contacts c WHERE c.team_id = $1 AND c.email = i.doc->>'email') AS by_email,
    (SELECT c.id FROM contacts c WHERE c.team_id = $1 AND c.phone = i.doc->>'phone') AS by_phone
  FROM i
), g AS (
  SELECT r.*, COALESCE(by_id, by_ext, by_email, by_phone) AS target FROM r
), t AS (
  SELECT g.*,
    (by_ext IS NOT NULL AND by_ext <> target) OR (by_email IS NOT NULL AND by_email <> target)
      OR (by_phone IS NOT NULL AND by_phone <> target) AS conflict,
    row_number() OVER (PARTITION BY target ORDER BY n) AS rk
  FROM g
), ok AS (
  SELECT * FROM t WHERE NOT conflict AND (target IS NULL OR rk = 1)
), upd AS (
  UPDATE contacts c SET
    external_id = CASE WHEN ok.doc ? 'external_id' THEN ok.doc->>'external_id' ELSE c.external_id END,
    email = CASE WHEN ok.doc ? 'email' THEN ok.doc->>'email' ELSE c.email END,
    phone = CASE WHEN ok.doc ? 'phone' THEN ok.doc->>'phone' ELSE c.phone END,
    name = CASE WHEN ok.doc ? 'name' THEN ok.doc->>'name' ELSE c.name END,
    tags = CASE WHEN ok.doc ? 'tags' THEN ARRAY(SELECT jsonb_array_elements_text(ok.doc->'tags')) ELSE c.tags END,
    custom_data = (c.custom_data
        || COALESCE((SELECT jsonb_object_agg(k, v) FROM jsonb_each(ok.doc->'custom_data') AS e(k, v) WHERE v <> 'null'::jsonb), '{}'::jsonb))
      - ARRAY(SELECT k FROM jsonb_each(ok.doc->'custom_data') AS e(k, v) WHERE v = 'null'::jsonb),
    updated_at = now()
  FROM ok WHERE ok.target IS NOT NULL AND c.team_id = $1 AND c.id = ok.target
  RETURNING c.id
), ins AS (
  INSERT INTO contacts (team_id, id, external_id, email, phone, name, tags, custom_data)
  SELECT $1, ok.new_id, ok.doc->>'external_id', ok.doc->>'email', ok.doc->>'phone', ok.doc->>'name',
    ARRAY(SELECT jsonb_array_elements_text(ok.doc->'tags')),
    COALESCE((SELECT jsonb_object_agg(k, v) FROM jsonb_each(ok.doc->'custom_data') AS e(k, v) WHERE v <> 'null'::jsonb), '{}'::jsonb)
  FROM ok WHERE ok.target IS NULL
  RETURNING id
), bumped AS (
  -- Matchers re-read the team's contacts for events accepted after this import chunk.
  SELECT relay_bump_contact_seq($1) WHERE EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM ins)
)
SELECT t.n,
  CASE WHEN t.conflict THEN 'conflict' WHEN t.target IS NULL THEN 'created' WHEN t.rk = 1 THEN 'updated' ELSE 'deferred' END AS status,
  t.by_id, t.by_ext, t.by_email, t.by_phone, t.target
FROM t
WHERE (SELECT count(*) FROM bumped) >= 0 AND (SELECT count(*) FROM ins) >= 0
ORDER BY t.n`;

const identifiers = (input: ContactInput): string[] =>
  (['id', 'external_id', 'email', 'phone'] as const).flatMap((k) => (typeof input[k] === 'string' ? [`${k}\u0000${input[k]}`] : []));

/**
 * Bulk NDJSON contact import (docs/scenarios.md): streams the body line by line (never
 * holding more than one batch), validates each line like `POST /v1/contacts`, upserts
 * batches of `batchSize` with one statement each, and reports every bad line with its
 * number and progress after every batch. A bad line never stops the import.
 */
export class ContactImporter {
  private readonly repo: ContactsRepository;
  private readonly batchSize: number;
  private readonly maxLineBytes: number;

  constructor(
    private readonly pool: Pool,
    options: ImportOptions = {},
  ) {
    this.repo = new ContactsRepository(pool);
    this.batchSize = options.batchSize ?? 1000;
    this.maxLineBytes = options.maxLineBytes ?? 256 * 1024;
  }

  async run(teamId: string, body: Readable, emit: (message: ImportMessage) => Promise<void>): Promise<ImportProgress> {
    const progress: ImportProgress = { lines: 0, created: 0, updated: 0, failed: 0 };
    const fail = async (line: number, code: string, errors: string[]) => {
      progress.failed++;
      await emit({ type: 'error', line, code, errors });
    };
    let batch: Pending[] = [];
    let seen = new Set<string>();
    const flush = async () => {
      if (batch.length === 0) return;
      await this.upsertBatch(teamId, batch, progress, fail);
      batch = [];
      seen = new Set();
      await emit({ type: 'progress', ...progress });
    };

    const capped = body.pipe(new LineCap(this.maxLineBytes));
    body.on('error', (error) => capped.destroy(error));
    // for await over readline pauses the input while the loop body awaits (Node's
    // readline iterator applies backpressure), so the body is read one batch at a time.
    const lines = createInterface({ input: capped, crlfDelay: Infinity });
    for await (const text of lines) {
      const line = ++progress.lines;
      if (text.trim() === '') continue;
      if (text.endsWith(TOO_LONG)) {
        await fail(line, 'LINE_TOO_LONG', [`line longer than ${this.maxLineBytes} bytes`]);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        await fail(line, 'INVALID_JSON', [(error as Error).message]);
        continue;
      }
      let input: ContactInput;
      try {
        input = parseContactInput(value);
      } catch (error) {
        if (!(error instanceof ScenariosError)) throw error;
        await fail(line, error.code, error.errors);
        continue;
      }
      // Two lines naming one identifier in one statement would collide: the later one
      // goes to the next batch, after the earlier one is written.
      const ids = identifiers(input);
      if (ids.some((k) => seen.has(k))) await flush();
      for (const k of ids) seen.add(k);
      batch.push({ line, input });
      if (batch.length >= this.batchSize) await flush();
    }
    await flush();
    return progress;
  }

  private async upsertBatch(
    teamId: string,
    batch: Pending[],
    progress: ImportProgress,
    fail: (line: number, code: string, errors: string[]) => Promise<void>,
  ): Promise<void> {
    let todo = batch;
    while (todo.length > 0) {
      let rows: Row[];
      try {
        ({ rows } = await this.pool.query<Row>(UPSERT, [
          teamId,
          todo.map((p) => p.line),
          todo.map((p) => JSON.stringify(p.input)),
          todo.map((p) => p.input.id ?? uuidv7()),
        ]));
      } catch (error) {
        if ((error as { code?: string }).code !== '23505') throw error;
        // A concurrent writer took one of the identifiers between our read and our write
        // (rare): redo this batch line by line with the API's upsert, which names the clash.
        await this.oneByOne(teamId, todo, progress, fail);
        return;
      }
      const byLine = new Map(todo.map((p) => [p.line, p]));
      const deferred: Pending[] = [];
      for (const r of rows) {
        if (r.status === 'created') progress.created++;
        else if (r.status === 'updated') progress.updated++;
        else if (r.status === 'deferred') deferred.push(byLine.get(r.n) as Pending);
        else {
          const clashes = (['by_ext', 'by_email', 'by_phone'] as const)
            .filter((k) => r[k] !== null && r[k] !== r.target)
            .map((k) => `${k.slice(3).replace('ext', 'external_id')} belongs to contact ${r[k]}, not to contact ${r.target}`);
          await fail(r.n, 'IDENTITY_CONFLICT', clashes);
        }
      }
      todo = deferred;
    }
  }

  private async oneByOne(
    teamId: string,
    batch: Pending[],
    progress: ImportProgress,
    fail: (line: number, code: string, errors: string[]) => Promise<void>,
  ): Promise<void> {
    for (const p of batch) {
      try {
        const { created } = await this.repo.upsert(teamId, p.input);
        if (created) progress.created++;
        else progress.updated++;
      } catch (error) {
        if (!(error instanceof ScenariosError)) throw error;
        await fail(p.line, error.code, error.errors);
      }
    }
  }
}

/** Writes NDJSON messages to a stream, waiting when the reader is slower than the import. */
export async function writeLine(out: NodeJS.WritableStream, message: unknown): Promise<void> {
  if (!out.write(`${JSON.stringify(message)}\n`)) await once(out, 'drain');
}
