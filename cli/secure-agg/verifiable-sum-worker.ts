/** A worker thread of VerifiablePool (verifiable-sum.ts): proveAndVerify on the devices it is sent. */
import { parentPort } from 'node:worker_threads';
import { proveAndVerify, type VerifiableRoundSetup } from './verifiable-sum';

parentPort!.on('message', (m: { setup: VerifiableRoundSetup; devices: number[]; deltas: Float32Array[] }) => {
  proveAndVerify(m.setup, m.devices, m.deltas).then(
    (ok) => parentPort!.postMessage({ ok }),
    (error: unknown) => parentPort!.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
