// Exposes the scale lab worker to Playwright as window.scaleLab (see e2e/lab/scale-worker.ts), and Comlink for its callbacks.
import * as Comlink from 'comlink';
import type { ScaleLab } from './scale-worker';

const worker = new Worker(new URL('./scale-worker.ts', import.meta.url), { type: 'module' });
Object.assign(window as unknown as Record<string, unknown>, { scaleLab: Comlink.wrap<ScaleLab>(worker), Comlink });
document.body.dataset.ready = 'true';
