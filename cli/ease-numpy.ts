/**
 * EASE's neighbours through numpy (cli/python/ease.py): the publisher's build of a catalog's co-liked
 * file (cli/build-co-liked.ts). The same method as core/model/ease.ts, which is the tested reference
 * (cli/ease-numpy.test.ts compares the two).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleToUnit } from '../src/core/model/ease';

const SCRIPT = fileURLToPath(new URL('./python/ease.py', import.meta.url));

/** Whether `python3` with numpy is on this machine. */
export function numpyAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
}

/** Each item's `neighbours` largest positive EASE weights (λ = `lambda`), as easeNeighbours returns them. */
export async function easeWithNumpy(likesPerReader: readonly (readonly number[])[], itemCount: number, lambda: number, neighbours: number): Promise<{ ids: Uint32Array; similarities: Float32Array }> {
  if (!numpyAvailable()) throw new Error('EASE needs python3 with numpy (Debian: apt-get install python3-numpy); --method cosine needs neither');
  const dir = await mkdtemp(join(tmpdir(), 'ease-'));
  try {
    const pairs: number[] = [];
    likesPerReader.forEach((likes, reader) => likes.forEach((item) => pairs.push(reader, item)));
    await writeFile(join(dir, 'likes.bin'), new Int32Array(pairs));
    const run = spawnSync('python3', [SCRIPT, join(dir, 'likes.bin'), String(itemCount), String(lambda), String(neighbours), join(dir, 'out')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.status !== 0) throw new Error(`cli/python/ease.py failed (exit ${run.status ?? run.signal})`);
    const ids = new Uint32Array((await readFile(join(dir, 'out.ids'))).buffer.slice(0));
    const similarities = new Float32Array((await readFile(join(dir, 'out.weights'))).buffer.slice(0));
    if (ids.length !== itemCount * neighbours || similarities.length !== ids.length) throw new Error('cli/python/ease.py wrote files of the wrong size');
    return { ids, similarities: scaleToUnit(similarities) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
