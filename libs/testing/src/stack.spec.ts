import { parsePgUrl } from './stack';

describe('parsePgUrl', () => {
  it('reads the connection parts of a postgres URL', () => {
    expect(parsePgUrl('postgres://postgres@127.0.0.1:5432/postgres')).toEqual({ host: '127.0.0.1', port: 5432, user: 'postgres' });
    expect(parsePgUrl('postgresql://relay:p%40ss@db.local/relay')).toEqual({ host: 'db.local', port: 5432, user: 'relay', password: 'p@ss' });
  });

  it('rejects other URLs', () => {
    expect(() => parsePgUrl('mysql://x@y/z')).toThrow(/postgres/);
  });
});
