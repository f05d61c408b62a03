/** The UI's handle on the engine: a comlink proxy over the worker. The UI imports no ML code. */
import * as Comlink from 'comlink';
import type { EngineApi } from '../engine/api';

export type EngineClient = Comlink.Remote<EngineApi>;

export function connectEngine(): EngineClient {
  const worker = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'engine' });
  return Comlink.wrap<EngineApi>(worker);
}

export const listen = Comlink.proxy;
