import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defaultCacheDir, defaultInfraDir, defaultLogger, type Logger } from './paths';

/**
 * Newest 4.x for which both kafka_2.13 (broker) and kafka-tools (perf tools) are on Maven
 * Central. Keep in sync with infra/kafka/pom.xml.
 */
export const DEFAULT_KAFKA_VERSION = '4.3.1';
/**
 * Newest Apicurio Registry 3.x that runs on Java 17 (3.3.x class files need Java 21).
 * Keep in sync with infra/apicurio/pom.xml.
 */
export const DEFAULT_APICURIO_VERSION = '3.0.9';

export interface ArtifactOptions {
  /** Where classpath files and the unpacked registry go. Default ~/.cache/relay. */
  cacheDir?: string;
  /** The repository's infra/ folder (holds kafka/pom.xml and apicurio/pom.xml). */
  infraDir?: string;
  /** Maven executable. Default `mvn` from PATH. */
  mavenCmd?: string;
  log?: Logger;
}

export interface EnsureKafkaOptions extends ArtifactOptions {
  version?: string;
}

export interface KafkaArtifact {
  version: string;
  /** The Java classpath (jars in the local Maven repository). */
  classpath: string;
  classpathFile: string;
}

export interface EnsureApicurioOptions extends ArtifactOptions {
  version?: string;
}

export interface ApicurioArtifact {
  version: string;
  /** Unpacked all-in-one app: <cacheDir>/apicurio-<version>. */
  home: string;
  /** The jar to run with `java -jar` (quarkus-run.jar since 3.1, *-runner.jar in 3.0.x). */
  runJar: string;
}

const HEARTBEAT_MS = 20000;

/** Runs `mvn -q -B ...`, printing a line every 20 s so a long first download looks alive. */
async function runMaven(args: string[], what: string, options: ArtifactOptions): Promise<void> {
  const log = options.log ?? defaultLogger;
  const mvn = options.mavenCmd ?? 'mvn';
  const started = Date.now();
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(mvn, ['-q', '-B', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setInterval(() => log(`  ... still ${what} (${Math.round((Date.now() - started) / 1000)} s)`), HEARTBEAT_MS);
    timer.unref();
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearInterval(timer);
      reject(error.code === 'ENOENT' ? new Error(`Maven not found (${mvn}); it fetches Kafka and Apicurio from Maven Central: apt-get install maven`) : error);
    });
    // 'close', not 'exit': 'exit' can fire before the pipes are drained, and the error
    // would then miss Maven's last lines, the ones that say what went wrong.
    child.once('close', (code, signal) => {
      clearInterval(timer);
      if (code === 0) return resolve();
      const tail = output.join('').trimEnd().split('\n').slice(-40).join('\n');
      reject(new Error(`${mvn} ${args.join(' ')} failed (${signal ?? `exit ${code}`}) while ${what}:\n${tail}`));
    });
  });
  log(`  done ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function cacheDirOf(options: ArtifactOptions): string {
  const dir = options.cacheDir ?? defaultCacheDir();
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A classpath file is usable only while every jar it names is still in ~/.m2. */
function readClasspath(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const classpath = readFileSync(file, 'utf8').trim();
  if (!classpath) return undefined;
  return classpath.split(path.delimiter).every((jar) => existsSync(jar)) ? classpath : undefined;
}

/**
 * Makes sure Kafka's jars are in the local Maven repository and a classpath file for them is
 * in the cache dir; runs Maven only when that is not already so.
 */
export async function ensureKafka(options: EnsureKafkaOptions = {}): Promise<KafkaArtifact> {
  const version = options.version ?? DEFAULT_KAFKA_VERSION;
  const cacheDir = cacheDirOf(options);
  const classpathFile = path.join(cacheDir, `kafka-${version}.classpath`);
  let classpath = readClasspath(classpathFile);
  if (!classpath) {
    const log = options.log ?? defaultLogger;
    log(`Kafka ${version} is not in ${cacheDir}: resolving it from Maven Central (the first time downloads ~80 MB of jars into ~/.m2)`);
    // Written to a temporary name and renamed, so a half-written file is never used.
    const partial = `${classpathFile}.${process.pid}.partial`;
    const pom = path.join(options.infraDir ?? defaultInfraDir(), 'kafka', 'pom.xml');
    try {
      await runMaven(
        ['-f', pom, 'dependency:build-classpath', `-Dkafka.version=${version}`, `-Dmdep.outputFile=${partial}`],
        `resolving Kafka ${version}`,
        options,
      );
      renameSync(partial, classpathFile);
    } finally {
      rmSync(partial, { force: true });
    }
    classpath = readClasspath(classpathFile);
    if (!classpath) throw new Error(`Maven wrote no usable classpath to ${classpathFile}`);
  }
  return { version, classpath, classpathFile };
}

function findRunJar(home: string): string | undefined {
  if (!existsSync(home)) return undefined;
  const fastJar = path.join(home, 'quarkus-run.jar');
  if (existsSync(fastJar)) return fastJar;
  const runner = readdirSync(home).find((f) => f.endsWith('-runner.jar'));
  return runner ? path.join(home, runner) : undefined;
}

/**
 * Makes sure the Apicurio Registry all-in-one app is unpacked in <cacheDir>/apicurio-<version>;
 * runs Maven (download ~160 MB the first time, then from ~/.m2) only when it is not.
 */
export async function ensureApicurio(options: EnsureApicurioOptions = {}): Promise<ApicurioArtifact> {
  const version = options.version ?? DEFAULT_APICURIO_VERSION;
  const cacheDir = cacheDirOf(options);
  const home = path.join(cacheDir, `apicurio-${version}`);
  let runJar = findRunJar(home);
  if (!runJar) {
    const log = options.log ?? defaultLogger;
    log(`Apicurio Registry ${version} is not in ${cacheDir}: fetching it from Maven Central (~160 MB the first time)`);
    const partial = path.join(cacheDir, `.apicurio-${version}.${process.pid}.partial`);
    const pom = path.join(options.infraDir ?? defaultInfraDir(), 'apicurio', 'pom.xml');
    rmSync(partial, { recursive: true, force: true });
    try {
      await runMaven(
        ['-f', pom, 'dependency:unpack', `-Dapicurio.version=${version}`, `-Drelay.apicurioDir=${partial}`],
        `fetching Apicurio Registry ${version}`,
        options,
      );
      if (!findRunJar(partial)) throw new Error(`the unpacked Apicurio Registry ${version} has no quarkus-run.jar nor *-runner.jar`);
      rmSync(path.join(partial, '.maven-markers'), { recursive: true, force: true });
      // Another process may have finished the same download meanwhile: keep the first.
      if (!findRunJar(home)) {
        rmSync(home, { recursive: true, force: true });
        renameSync(partial, home);
      }
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
    runJar = findRunJar(home);
    if (!runJar) throw new Error(`Apicurio Registry ${version} is not runnable from ${home}`);
  }
  return { version, home, runJar };
}
