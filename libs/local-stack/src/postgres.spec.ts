import { checkPostgres, ensureDatabase } from './postgres';
import { getFreePort } from './ports';

describe('PostgreSQL helpers', () => {
  it('says how to start PostgreSQL when nothing answers', async () => {
    const port = await getFreePort();
    await expect(checkPostgres({ host: '127.0.0.1', port, user: 'postgres' })).rejects.toThrow(
      /PostgreSQL is not answering at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Start the local cluster with `pg_ctlcluster \S+ main start`.*or pass other connection options/,
    );
  });

  it('refuses database names that would need quoting', async () => {
    await expect(ensureDatabase({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'Robert"; DROP' })).rejects.toThrow(/must match/);
  });
});
