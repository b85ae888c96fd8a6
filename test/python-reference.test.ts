import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The PyTorch reference is what every golden file and parity test is measured against, so its own checks
// (KV cache equals a full pass, left padding changes nothing, the 1×4 grouping, ...) run with the suite.
describe('Python reference model', () => {
  it('passes its own unit tests', () => {
    const out = execFileSync('/usr/bin/python3', ['-m', 'unittest', 'discover', '-s', 'models/tools/tests', '-t', '.'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe('');
  });
});
