import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The trained model the bot runs unless told otherwise. */
export const DEFAULT_MODEL_DIR = resolve(repoRoot, 'models', 'default');

/** Random weights: exercises the plumbing and parity tests; its answers are noise. */
export const MINI_MODEL_DIR = resolve(repoRoot, 'models', 'mini');
