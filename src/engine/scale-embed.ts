/**
 * At catalog scale, the items the publisher's shards do not cover (a refused shard, a text changed
 * since the publisher's build) are embedded on the device, a bounded number per visit; and the status
 * line of the shards' download. Split from engine/scale.ts.
 */
import { ColumnsCatalog } from './catalog-scale';
import type { EngineParts } from './parts';
import type { ScalePath } from './scale';
import { formatBytes, type ShardProgress } from './shard-fetch';
import { EMBED_BATCH_SIZE, errorMessage } from './util';

/** Items embedded on the device per visit, at most (those the shards miss): a few minutes of a phone's time. */
export const DEVICE_EMBEDS_PER_VISIT = 1000;

/**
 * Embeds on the device the items no stored row covers (history first, then the most popular), at most
 * DEVICE_EMBEDS_PER_VISIT, cached as they land; re-ranks once done. A catalog held as columns embeds
 * only the items whose row (their text) is stored on the device.
 */
export async function embedUnindexed(path: ScalePath, p: EngineParts): Promise<void> {
  const { state, encoders, store, feed } = p;
  const { view, catalog, vectors } = state;
  const text = (index: number) => (catalog instanceof ColumnsCatalog ? catalog.text(index) : catalog.texts[index]);
  const wanted = new Set(state.urgent.filter((index) => !vectors.rows[index]));
  for (const index of path.unindexed().sort((a, b) => catalog.popularity[b]! - catalog.popularity[a]! || a - b)) {
    if (wanted.size >= DEVICE_EMBEDS_PER_VISIT) break;
    wanted.add(index);
  }
  const texts = new Map<number, string>();
  for (const index of wanted) {
    const value = text(index);
    if (value !== undefined) texts.set(index, value);
    if (texts.size >= DEVICE_EMBEDS_PER_VISIT) break;
  }
  const todo = [...texts.keys()];
  if (todo.length === 0 || state.stopped) return;
  const encoderId = encoders.activeId;
  const total = todo.length;
  let done = 0;
  view.update({ embedding: { done, total, active: true } });
  try {
    const encoder = encoders.current ?? (await encoders.load(encoderId));
    encoders.current ??= encoder;
    for (let at = 0; at < todo.length && !state.stopped && encoderId === encoders.activeId; at += EMBED_BATCH_SIZE) {
      const batch = todo.slice(at, at + EMBED_BATCH_SIZE);
      const fresh = await store.cacheVectors(
        encoderId,
        batch,
        await encoders.embedWith(
          encoderId,
          encoders.current ?? encoder,
          batch.map((index) => texts.get(index)!),
        ),
      );
      batch.forEach((index, i) => {
        vectors.set(index, fresh[i]!, false);
        path.device.add(index);
      });
      done += batch.length;
      view.update({ embedding: { done, total, active: done < total } });
    }
  } catch (error) {
    view.warn({ code: 'embeddingStopped', params: { message: errorMessage(error) } }, { embedding: { done, total, active: false } });
  }
  if (!state.stopped) {
    state.rebuildProfile();
    view.update({ feed: feed.rank() });
  }
}

/** The status line while shards download (the vectors, then a columns catalog's texts): bytes and time left. */
export function downloadActivity(progress: ShardProgress): string {
  const left = progress.secondsLeft === undefined ? '' : `, about ${Math.max(1, Math.round(progress.secondsLeft))} s left`;
  const what = progress.what === 'texts' ? "the catalog's texts" : "the catalog's vectors";
  return `Downloading ${what}: ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}${left}`;
}
