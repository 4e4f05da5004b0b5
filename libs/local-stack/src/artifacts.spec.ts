import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureApicurio, ensureKafka } from './artifacts';

/**
 * A stand-in for `mvn` that does what the real one does with our poms (writes the
 * classpath file / unpacks the app) and records that it ran, so the cache logic is tested
 * without network.
 */
function fakeMaven(dir: string, jar: string): string {
  const script = path.join(dir, 'fake-mvn');
  writeFileSync(
    script,
    `#!/bin/sh
echo run >> "${dir}/mvn-calls"
for a in "$@"; do
  case "$a" in
    -Dmdep.outputFile=*) printf '%s' "${jar}" > "\${a#-Dmdep.outputFile=}" ;;
    -Drelay.apicurioDir=*) mkdir -p "\${a#-Drelay.apicurioDir=}" && touch "\${a#-Drelay.apicurioDir=}/quarkus-run.jar" ;;
  esac
done
`,
  );
  chmodSync(script, 0o755);
  return script;
}

describe('artifact cache', () => {
  let dir: string;
  let jar: string;
  const calls = () => {
    try {
      return readFileSync(path.join(dir, 'mvn-calls'), 'utf8').trim().split('\n').length;
    } catch {
      return 0;
    }
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay-artifacts-'));
    jar = path.join(dir, 'm2', 'kafka.jar');
    mkdirSync(path.dirname(jar), { recursive: true });
    writeFileSync(jar, '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs Maven for Kafka only when the classpath is missing or stale', async () => {
    const opts = { cacheDir: path.join(dir, 'cache'), mavenCmd: fakeMaven(dir, jar), log: () => undefined, version: '4.0.0' };
    const first = await ensureKafka(opts);
    expect(first.classpath).toBe(jar);
    expect(first.classpathFile).toBe(path.join(dir, 'cache', 'kafka-4.0.0.classpath'));
    await ensureKafka(opts);
    expect(calls()).toBe(1);
    rmSync(jar); // e.g. ~/.m2 was wiped: the classpath file no longer points at real jars
    writeFileSync(jar, '');
    await ensureKafka(opts);
    expect(calls()).toBe(1);
    rmSync(jar);
    await expect(ensureKafka(opts)).rejects.toThrow(/no usable classpath/);
    expect(calls()).toBe(2);
  });

  it('unpacks Apicurio once, via a temporary folder', async () => {
    const opts = { cacheDir: path.join(dir, 'cache'), mavenCmd: fakeMaven(dir, jar), log: () => undefined, version: '3.9.9' };
    const first = await ensureApicurio(opts);
    expect(first.runJar).toBe(path.join(dir, 'cache', 'apicurio-3.9.9', 'quarkus-run.jar'));
    await ensureApicurio(opts);
    expect(calls()).toBe(1);
  });

  it('reports a missing Maven and a failing one', async () => {
    await expect(ensureKafka({ cacheDir: path.join(dir, 'c1'), mavenCmd: 'relay-no-such-mvn', log: () => undefined })).rejects.toThrow(/Maven not found/);
    const failing = path.join(dir, 'failing-mvn');
    writeFileSync(failing, '#!/bin/sh\necho "[ERROR] Could not resolve dependencies" >&2\nexit 1\n');
    chmodSync(failing, 0o755);
    await expect(ensureKafka({ cacheDir: path.join(dir, 'c2'), mavenCmd: failing, log: () => undefined })).rejects.toThrow(/Could not resolve dependencies/);
  });
});
