/** Everything in the engine worker that pulls in TensorFlow.js, as one lazily loaded chunk. */
import { getBackend } from '@tensorflow/tfjs';
import type { BackendName } from './api';

export { fallBackFrom, selectBackend } from './backend';

/** The backend selectBackend (or fallBackFrom) made active in this worker. */
export function activeBackend(): BackendName {
  return getBackend() as BackendName;
}
