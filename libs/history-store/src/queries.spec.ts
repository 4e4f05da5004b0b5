import { BASE_MS, makeEvent, openTempStore, type TempStore } from '../test/embedded';
import { createHistoryClient } from './client';
import { encodeCursor } from './cursor';
import { HistoryQueries } from './queries';
import { HistoryValidationError, type EventHistoryRow } from './types';
import { insertEvents } from './writer';

let store: TempStore;
let queries: HistoryQueries;

const PAGED = 'team-paged';
const TOTAL = 1000;
const CODE_NAMES = ['order.created', 'cart.updated', 'contact.subscribed'];

// 1,000 events over only 37 distinct timestamps (many ties), three code names, two
// environments, a few contacts, and a status history that leaves a row per status on
// disk for a third of them.
function pagedFixture(): { all: Array<Parameters<typeof makeEvent>[0]>; latest: Map<string, string> } {
  const all: Array<Parameters<typeof makeEvent>[0]> = [];
  const latest = new Map<string, string>();
  for (let i = 0; i < TOTAL; i++) {
    const event_id = `evt-${String((i * 7919) % TOTAL).padStart(4, '0')}`; // ids not in time order
    const base = {
      event_id,
      team_id: PAGED,
      code_name: CODE_NAMES[i % 3]!,
      environment: i % 4 === 0 ? 'staging' : 'production',
      contact_id: `contact-${i % 10}`,
      contact_email: `c${i % 10}@example.com`,
      received_at: BASE_MS + (i % 37) * 1000,
    };
    all.push({ ...base, status: 'accepted' });
    latest.set(event_id, 'accepted');
    if (i % 3 === 0) {
      all.push({ ...base, status: 'matched' });
      latest.set(event_id, 'matched');
    }
  }
  return { all, latest };
}

const fixture = pagedFixture();
// The order the API promises: received_at desc, then event_id desc.
function expectedOrder(filter: (e: (typeof fixture.all)[number]) => boolean = () => true): string[] {
  const seen = new Map<string, (typeof fixture.all)[number]>();
  for (const e of fixture.all) if (!seen.has(e.event_id)) seen.set(e.event_id, e);
  return [...seen.values()]
    .filter((e) => filter({ ...e, status: fixture.latest.get(e.event_id)! }))
    .sort((a, b) => Number(b.received_at) - Number(a.received_at) || (a.event_id < b.event_id ? 1 : a.event_id > b.event_id ? -1 : 0))
    .map((e) => e.event_id);
}

async function readAll(
  params: Omit<Parameters<HistoryQueries['listEventHistories']>[0], 'cursor'>,
): Promise<{ ids: string[]; pages: number; rows: EventHistoryRow[] }> {
  const rows: EventHistoryRow[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await queries.listEventHistories({ ...params, ...(cursor ? { cursor } : {}) });
    pages += 1;
    expect(page.data.length).toBeLessThanOrEqual(params.limit ?? 50);
    rows.push(...page.data);
    cursor = page.next_cursor ?? undefined;
    if (pages > 1000) throw new Error('pagination does not terminate');
  } while (cursor);
  return { ids: rows.map((r) => r.event_id), pages, rows };
}

beforeAll(async () => {
  store = await openTempStore();
  queries = new HistoryQueries(store.client);
  // Several inserts so the versions of an event sit in different parts, as in production.
  const statuses = fixture.all.filter((e) => e.status === 'accepted');
  const progressions = fixture.all.filter((e) => e.status !== 'accepted');
  await insertEvents(
    store.client,
    statuses.slice(0, 500).map((e) => makeEvent(e)),
  );
  await insertEvents(
    store.client,
    progressions.map((e) => makeEvent(e)),
  );
  await insertEvents(
    store.client,
    statuses.slice(500).map((e) => makeEvent(e)),
  );
  await insertEvents(
    store.client,
    statuses.slice(0, 100).map((e) => makeEvent(e)),
  ); // a redelivery
});
afterAll(async () => store.cleanup());

describe('listEventHistories pagination', () => {
  it('returns every row exactly once, in order, across pages of 70', async () => {
    const { ids, pages } = await readAll({ teamId: PAGED, limit: 70 });
    expect(ids).toHaveLength(TOTAL);
    expect(new Set(ids).size).toBe(TOTAL);
    expect(ids).toEqual(expectedOrder());
    expect(pages).toBe(Math.ceil(TOTAL / 70));
  });

  it('is stable when a page boundary falls inside a run of equal timestamps', async () => {
    for (const limit of [7, 27, 500]) {
      const { ids } = await readAll({ teamId: PAGED, limit, codeName: 'order.created' });
      expect(ids).toEqual(expectedOrder((e) => e.code_name === 'order.created'));
    }
    // One row per page: every boundary is a tie-break on event_id.
    const { ids } = await readAll({ teamId: PAGED, limit: 1, contactId: 'contact-3' });
    expect(ids).toEqual(expectedOrder((e) => e.contact_id === 'contact-3'));
  });

  it('returns next_cursor null on the last page, also when it is exactly full', async () => {
    const n = expectedOrder((e) => e.contact_id === 'contact-3').length;
    const page = await queries.listEventHistories({ teamId: PAGED, contactId: 'contact-3', limit: n });
    expect(page.data).toHaveLength(n);
    expect(page.next_cursor).toBeNull();
    const shorter = await queries.listEventHistories({ teamId: PAGED, contactId: 'contact-3', limit: n - 1 });
    expect(shorter.next_cursor).not.toBeNull();
  });

  it('defaults to 50 rows and rejects limits outside 1..500', async () => {
    expect((await queries.listEventHistories({ teamId: PAGED })).data).toHaveLength(50);
    for (const limit of [0, 501, 2.5, Number.NaN]) {
      await expect(queries.listEventHistories({ teamId: PAGED, limit })).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
    }
  });

  it('rejects malformed cursors', async () => {
    for (const cursor of ['', 'not base64!', Buffer.from('{"v":2}').toString('base64url'), Buffer.from('[]').toString('base64url')]) {
      await expect(queries.listEventHistories({ teamId: PAGED, cursor })).rejects.toBeInstanceOf(HistoryValidationError);
    }
  });
});

describe('listEventHistories filters', () => {
  it.each([
    ['codeName', { codeName: 'cart.updated' }, (e: (typeof fixture.all)[number]) => e.code_name === 'cart.updated'],
    ['status (latest only)', { status: 'accepted' }, (e: (typeof fixture.all)[number]) => e.status === 'accepted'],
    ['status matched', { status: 'matched' }, (e: (typeof fixture.all)[number]) => e.status === 'matched'],
    ['environment', { environment: 'staging' }, (e: (typeof fixture.all)[number]) => e.environment === 'staging'],
    ['contactId', { contactId: 'contact-4' }, (e: (typeof fixture.all)[number]) => e.contact_id === 'contact-4'],
    ['contactEmail', { contactEmail: 'c5@example.com' }, (e: (typeof fixture.all)[number]) => e.contact_email === 'c5@example.com'],
    [
      'combined',
      { codeName: 'order.created', environment: 'production', contactId: 'contact-1' },
      (e: (typeof fixture.all)[number]) => e.code_name === 'order.created' && e.environment === 'production' && e.contact_id === 'contact-1',
    ],
  ])('%s', async (_label, filter, predicate) => {
    const { ids } = await readAll({ teamId: PAGED, limit: 100, ...filter });
    const expected = expectedOrder(predicate);
    expect(expected.length).toBeGreaterThan(0);
    expect(ids).toEqual(expected);
  });

  it('contactId also finds events the matcher resolved to that contact, whatever identifier they carried', async () => {
    const team = 'team-resolved';
    await insertEvents(store.client, [
      makeEvent({ event_id: 'by-id', team_id: team, contact_id: 'c-42', received_at: BASE_MS + 3 }),
      makeEvent({ event_id: 'by-email', team_id: team, contact_email: 'x@example.com', received_at: BASE_MS + 2 }),
      makeEvent({ event_id: 'by-phone', team_id: team, contact_phone: '+33600000000', received_at: BASE_MS + 1 }),
      makeEvent({ event_id: 'someone-else', team_id: team, contact_id: 'c-7', received_at: BASE_MS }),
    ]);
    // The matcher's decisions, as later versions of two of them.
    await insertEvents(store.client, [
      makeEvent({
        event_id: 'by-email',
        team_id: team,
        contact_email: 'x@example.com',
        received_at: BASE_MS + 2,
        status: 'matched',
        resolved_contact_id: 'c-42',
      }),
      makeEvent({ event_id: 'someone-else', team_id: team, contact_id: 'c-7', received_at: BASE_MS, status: 'unmatched', resolved_contact_id: 'c-7' }),
    ]);
    expect((await readAll({ teamId: team, contactId: 'c-42' })).ids).toEqual(['by-id', 'by-email']);
  });

  it('from is inclusive and to exclusive', async () => {
    const from = BASE_MS + 10 * 1000;
    const to = new Date(BASE_MS + 20 * 1000).toISOString();
    const { ids, rows } = await readAll({ teamId: PAGED, limit: 500, from, to });
    expect(ids).toEqual(expectedOrder((e) => Number(e.received_at) >= from && Number(e.received_at) < Date.parse(to)));
    expect(rows[rows.length - 1]?.received_at).toBe(new Date(from).toISOString());
  });

  it('never returns another team', async () => {
    await insertEvents(store.client, [makeEvent({ event_id: 'other-1', team_id: 'team-other' })]);
    expect((await queries.listEventHistories({ teamId: 'team-other' })).data.map((r) => r.team_id)).toEqual(['team-other']);
    expect((await readAll({ teamId: PAGED, limit: 500 })).ids).toHaveLength(TOTAL);
    expect((await queries.listEventHistories({ teamId: 'nobody' })).data).toEqual([]);
  });

  it('treats filter values as data, not SQL', async () => {
    const hostile = "x' OR 1=1 --";
    expect((await queries.listEventHistories({ teamId: hostile })).data).toEqual([]);
    expect((await queries.listEventHistories({ teamId: PAGED, codeName: hostile })).data).toEqual([]);
    await insertEvents(store.client, [makeEvent({ event_id: "quote'id", team_id: hostile, code_name: hostile })]);
    expect((await queries.getEvent(hostile, "quote'id"))?.code_name).toBe(hostile);
  });
});

describe('listEventHistories over every look-back window', () => {
  // Rows in the future (producer clock skew), the last hour, day, week, month and far
  // beyond, so pages are found in a narrow window, after widening, and only unbounded.
  const TEAM = 'team-windows';
  const now = Date.now();
  const ages = [-60_000, 10 * 60_000, 5 * 3600_000, 3 * 86_400_000, 20 * 86_400_000, 90 * 86_400_000];
  const events = ages.flatMap((age, a) =>
    Array.from({ length: 12 }, (_, i) => makeEvent({ event_id: `w-${a}-${String(i).padStart(2, '0')}`, team_id: TEAM, received_at: now - age - i * 1000 })),
  );
  const newestFirst = (keep: (e: (typeof events)[number]) => boolean = () => true) =>
    events
      .filter(keep)
      .sort((x, y) => Number(y.received_at) - Number(x.received_at) || (x.event_id < y.event_id ? 1 : -1))
      .map((e) => e.event_id);

  beforeAll(async () => {
    await insertEvents(store.client, events.slice(0, 40));
    await insertEvents(store.client, events.slice(40));
  });

  it.each([1, 5, 12, 25, 72, 500])('pages of %i return every row once, newest first', async (limit) => {
    expect((await readAll({ teamId: TEAM, limit })).ids).toEqual(newestFirst());
  });

  it('a sparse team (nothing in the last month) still gets its newest rows first', async () => {
    const old = 'team-windows-old';
    await insertEvents(
      store.client,
      [3, 1, 2].map((d) => makeEvent({ event_id: `old-${d}`, team_id: old, received_at: now - (40 + d) * 86_400_000 })),
    );
    expect((await readAll({ teamId: old, limit: 2 })).ids).toEqual(['old-1', 'old-2', 'old-3']);
  });

  it('combines the windows with from and to', async () => {
    const from = now - 4 * 86_400_000;
    const to = now - 10 * 60_000 - 5_500; // cuts the 10-minute group in half
    const expected = newestFirst((e) => Number(e.received_at) >= from && Number(e.received_at) < to);
    expect(expected).toHaveLength(6 + 12 + 12);
    expect((await readAll({ teamId: TEAM, limit: 10, from, to })).ids).toEqual(expected);
  });
});

describe('getEvent and ping', () => {
  it('returns the latest version of one event, or null', async () => {
    const matched = expectedOrder((e) => e.status === 'matched')[0]!;
    expect(await queries.getEvent(PAGED, matched)).toMatchObject({ event_id: matched, status: 'matched', status_rank: 50 });
    expect(await queries.getEvent('team-other', matched)).toBeNull();
    expect(await queries.getEvent(PAGED, 'missing')).toBeNull();
  });

  it('ping resolves when the table exists', async () => {
    await expect(queries.ping()).resolves.toBeUndefined();
  });

  it('ping rejects when the schema is missing', async () => {
    const other = createHistoryClient({ dataDir: store.dir, database: 'never_migrated' });
    try {
      await expect(new HistoryQueries(other).ping()).rejects.toThrow(/missing/);
    } finally {
      await other.close();
    }
  });

  it('a cursor is opaque base64url', () => {
    expect(encodeCursor({ receivedAtMs: BASE_MS, eventId: 'evt-1' })).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
