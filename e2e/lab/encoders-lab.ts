// Exposes the encoder lab worker to Playwright as window.encoderLab (see e2e/lab/encoder-lab-worker.ts).
import * as Comlink from 'comlink';
import type { EncoderLab } from './encoder-lab-worker';

const worker = new Worker(new URL('./encoder-lab-worker.ts', import.meta.url), { type: 'module' });
(window as unknown as { encoderLab: Comlink.Remote<EncoderLab> }).encoderLab = Comlink.wrap<EncoderLab>(worker);
document.body.dataset.ready = 'true';
