/** TF.js in Node for the CLIs and tests: the wasm backend (binaries from the npm package's dist dir) or cpu. */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

export async function useNodeBackend(name: 'wasm' | 'cpu'): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend '${name}' failed to initialise`);
  await tf.ready();
}
