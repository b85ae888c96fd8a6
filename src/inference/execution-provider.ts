import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { listSupportedBackends } from 'onnxruntime-node';

/**
 * Why `device` cannot be used by this onnxruntime-node install, or undefined when it may be. Checked before any
 * session tries it, because a missing provider library otherwise makes onnxruntime print a native error of its
 * own. CUDA is not bundled: its libraries land only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12.
 */
export function providerUnavailable(device: string): string | undefined {
  const backend = listSupportedBackends().find((b) => b.name === device);
  if (!backend) return `onnxruntime-node has no '${device}' backend on ${process.platform}-${process.arch}`;
  if (backend.bundled) return undefined;
  const packageDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const binDir = join(packageDir, 'bin');
  const libraryPresent =
    existsSync(binDir) &&
    readdirSync(binDir, { recursive: true, encoding: 'utf8' }).some((f) => f.split(sep).includes(process.platform) && f.includes(`onnxruntime_providers_${device}`));
  return libraryPresent ? undefined : `its libraries are not installed (reinstall with ONNXRUNTIME_NODE_INSTALL=${device}12)`;
}
