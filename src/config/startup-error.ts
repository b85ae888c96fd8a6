/**
 * A start-up failure the operator can fix (a setting, a token, a port, a model folder): reported as one line and a
 * non-zero exit, never a stack trace. Anything else thrown at start-up is a bug and keeps its stack.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
