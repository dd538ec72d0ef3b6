import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DirectoryLockedError extends Error {
  constructor(
    readonly directory: string,
    readonly ownerPid: number,
  ) {
    super(
      `The embedded database in ${directory} is in use by another process (pid ${ownerPid}). ` +
        'Stop that process, or give this one its own DATA_DIR.',
    );
    this.name = 'DirectoryLockedError';
  }
}

/**
 * An exclusive lock on a data directory: a file holding the owner's pid,
 * created with O_EXCL. A lock left by a process that has died is taken over.
 */
export class DirectoryLock {
  private constructor(private readonly file: string) {}

  static acquire(directory: string): DirectoryLock {
    mkdirSync(directory, { recursive: true });
    const file = join(directory, 'ultrai.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new DirectoryLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number.parseInt(readFileSafe(file), 10);
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
          throw new DirectoryLockedError(directory, owner);
        }
        unlinkSafe(file);
      }
    }
    throw new DirectoryLockedError(directory, Number.parseInt(readFileSafe(file), 10) || 0);
  }

  release(): void {
    unlinkSafe(this.file);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function unlinkSafe(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
