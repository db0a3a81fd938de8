import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '@garde/testing';

describe('bin/console as a process', () => {
  it('stops quietly when the reader of its output goes away (`bin/console … | head`)', async () => {
    const child = spawn(path.join(REPO_ROOT, 'bin', 'console'), ['help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reading end closes long before the console has started (the loader alone takes ~100 ms): its
    // first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
