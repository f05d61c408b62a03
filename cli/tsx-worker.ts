/**
 * A worker thread that runs a TypeScript module under tsx: a worker of a tsx process does not inherit its
 * loader, so the worker registers it first, then imports the module (the benches' device pools:
 * cli/secure-agg/verifiable-sum.ts, cli/secure-agg/verifiable-round.ts).
 */
import { Worker } from 'node:worker_threads';

export function tsxWorker(moduleUrl: URL): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(source, { eval: true });
}
