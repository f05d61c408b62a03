// Exposes the model lab worker to Playwright as window.modelLab (see e2e/lab/model-lab-worker.ts).
import * as Comlink from 'comlink';
import type { ModelLab } from './model-lab-worker';

const worker = new Worker(new URL('./model-lab-worker.ts', import.meta.url), { type: 'module' });
(window as unknown as { modelLab: Comlink.Remote<ModelLab> }).modelLab = Comlink.wrap<ModelLab>(worker);
document.body.dataset.ready = 'true';
