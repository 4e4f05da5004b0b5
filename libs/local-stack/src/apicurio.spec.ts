import { apicurioSystemProperties } from './apicurio';

describe('apicurioSystemProperties', () => {
  const input = {
    host: '127.0.0.1',
    port: 8080,
    managementPort: 9000,
    dataDir: '/state',
    postgres: { host: 'db', port: 5433, user: 'relay', password: 'secret', database: 'relay_registry' },
  };

  it('uses SQL storage on PostgreSQL with a small connection pool', () => {
    expect(apicurioSystemProperties(input)).toMatchObject({
      'quarkus.http.port': '8080',
      'quarkus.management.port': '9000',
      'apicurio.storage.kind': 'sql',
      'apicurio.storage.sql.kind': 'postgresql',
      'apicurio.datasource.url': 'jdbc:postgresql://db:5433/relay_registry',
      'apicurio.datasource.username': 'relay',
      'apicurio.datasource.jdbc.max-size': '10',
    });
  });

  it('keeps the password off the command line', () => {
    expect(JSON.stringify(apicurioSystemProperties(input))).not.toContain('secret');
  });

  it('pins the ccompat id and hash modes explicitly', () => {
    expect(apicurioSystemProperties(input)).toMatchObject({
      'apicurio.ccompat.legacy-id-mode.enabled': 'false',
      'apicurio.ccompat.use-canonical-hash': 'true',
    });
    expect(apicurioSystemProperties({ ...input, ccompat: { legacyIdMode: true, canonicalHash: false } })).toMatchObject({
      'apicurio.ccompat.legacy-id-mode.enabled': 'true',
      'apicurio.ccompat.use-canonical-hash': 'false',
    });
  });
});
