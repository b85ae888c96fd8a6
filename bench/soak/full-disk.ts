import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A state directory on its own small disk, which the run fills up while the bot runs. */
export interface SmallDisk {
  dir: string;
  /** Writes a file until the disk has no space left. */
  fill(): void;
  release(): void;
}

/** A 4 MiB tmpfs (mounting needs root, which CI's machine gives); undefined where it cannot be mounted. */
export function smallDisk(): SmallDisk | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-soak-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    fill() {
      const chunk = Buffer.alloc(64 * 1024);
      for (let i = 0; i < 1024; i++) {
        try {
          appendFileSync(join(dir, 'other-program.log'), chunk);
        } catch {
          return; // ENOSPC: full
        }
      }
    },
    release() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
