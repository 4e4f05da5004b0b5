import { execFile } from 'node:child_process';

const cache = new Map<string, Promise<number>>();

/** Major version of the given `java` (17, 21, ...); throws a readable error if there is none. */
export function javaMajorVersion(javaBin = 'java'): Promise<number> {
  let pending = cache.get(javaBin);
  if (!pending) {
    pending = new Promise<number>((resolve, reject) => {
      execFile(javaBin, ['-version'], { timeout: 30000 }, (error, stdout, stderr) => {
        const text = `${stderr}\n${stdout}`;
        const match = /version "(?:1\.)?(\d+)/.exec(text);
        if (match?.[1]) return resolve(Number(match[1]));
        const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
        reject(
          new Error(
            missing
              ? `Java not found (${javaBin}). Kafka 4.x and Apicurio 3.x need a JDK 17+: apt-get install openjdk-17-jre-headless`
              : `could not read the Java version from \`${javaBin} -version\`: ${text.trim() || error?.message}`,
          ),
        );
      });
    });
    cache.set(javaBin, pending);
    pending.catch(() => cache.delete(javaBin));
  }
  return pending;
}

export async function requireJava(minMajor: number, what: string, javaBin = 'java'): Promise<void> {
  const major = await javaMajorVersion(javaBin);
  if (major < minMajor) {
    throw new Error(`${what} needs Java ${minMajor}+, but ${javaBin} is Java ${major}`);
  }
}
