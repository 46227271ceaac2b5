/**
 * The AWS SDK warns on stderr that its releases after January 2027 need Node 22. The version we pin
 * works on Node 20 (dependency notes); an operator mid-incident must not read that. Imported first by
 * the CLI and by the s3 thread (a thread has a `process.emitWarning` of its own).
 */
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).startsWith('NodeVersionSupportWarning')) return;
  return (emitWarning as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
