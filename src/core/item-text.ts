/**
 * The text a sentence encoder reads for a catalog item: one function used by the engine (embedding
 * and the text search), the catalog CLI, the prebuilt-embedding builder and the benchmarks, so that
 * every path embeds, hashes and caches exactly the same string.
 *
 * Form (chosen by measurement on goodbooks-10k, cli/measure-item-text.ts; docs/benchmarks.md):
 *
 *   "<text>. Genres: fantasy, young adult. Tags: magic, boarding school. <description>"
 *
 * each part only where the item has it. Labels are read as words ("young-adult" → "young adult"):
 * a sentence encoder's vocabulary knows the words, not the shelf spelling. Genres come first, as the
 * catalog orders them (most used first), then tags, then the description, which fills what is left.
 *
 * Bound: ENCODER_TEXT_MAX_CHARS characters. USE Lite reads at most 256 sentencepiece ids (use-lite.ts,
 * and the registry's maxTokens: 256 for it and MiniLM) and its tokenizer makes a piece of every 2.7–3.4
 * characters of English prose (README and catalog texts measured); 600 characters are ≤ ~225 pieces,
 * under the limit with room, so the cut is made here, at a word, and not silently by the tokenizer in
 * the middle of whatever came last. The encoder averages over its input, so a long blurb would also
 * drown the title and genres: another reason to keep the text short. An item with only a short `text`
 * gets its `text` back unchanged (same hash as before genres existed).
 */
import type { CatalogItem } from './catalog';

export const ENCODER_TEXT_MAX_CHARS = 600;
/** With genres, tags or a description to add, the item's own text keeps at most this much. */
const HEAD_MAX_CHARS = 300;
/** The catalog keeps up to 50 labels an item; the encoder reads the first few (the most telling). */
const MAX_GENRES_READ = 8;
const MAX_TAGS_READ = 8;

type DescribedItem = Pick<CatalogItem, 'text'> & Partial<Pick<CatalogItem, 'genres' | 'tags' | 'description'>>;

export function encoderText(item: DescribedItem): string {
  const parts: string[] = [];
  const genres = readableLabels(item.genres, MAX_GENRES_READ);
  const tags = readableLabels(item.tags, MAX_TAGS_READ);
  const description = item.description?.replace(/\s+/g, ' ').trim() ?? '';
  const extras = genres.length > 0 || tags.length > 0 || description !== '';
  parts.push(extras ? cutAtWord(item.text.trim(), HEAD_MAX_CHARS) : item.text);
  if (genres.length > 0) parts.push(`Genres: ${genres.join(', ')}`);
  if (tags.length > 0) parts.push(`Tags: ${tags.join(', ')}`);
  let text = joinSentences(parts);
  if (description !== '') {
    const room = ENCODER_TEXT_MAX_CHARS - text.length - 2;
    if (room >= 20) text = joinSentences([text, cutAtWord(description, room)]);
  }
  return cutAtWord(text, ENCODER_TEXT_MAX_CHARS);
}

/** A label as words: "young-adult" → "young adult", "humor-and-comedy" → "humor and comedy". */
export function readableLabel(label: string): string {
  return label.replace(/[-_\s]+/g, ' ').trim();
}

function readableLabels(labels: readonly string[] | undefined, max: number): string[] {
  const seen = new Set<string>();
  for (const label of labels ?? []) {
    if (seen.size >= max) break;
    if (typeof label !== 'string') continue;
    // A label is one item of a comma list: commas and sentence ends inside it would split it.
    const readable = readableLabel(label.replace(/[,.;:!?]+/g, ' '))
      .slice(0, 60)
      .trim();
    if (readable !== '') seen.add(readable);
  }
  return [...seen];
}

/** Sentences joined with ". ", not doubling a stop the previous one ends with. */
function joinSentences(parts: readonly string[]): string {
  let out = '';
  for (const part of parts) {
    if (part === '') continue;
    if (out === '') out = part;
    else out += /[.!?…]["'”’)]*$/.test(out) ? ` ${part}` : `. ${part}`;
  }
  return out;
}

/** `text` cut to at most `max` characters, at the last space when there is one in the last fifth. */
function cutAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not half of a surrogate pair (an emoji, a rare CJK character) at the cut.
  const cut = text.slice(0, /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max);
  const space = cut.lastIndexOf(' ');
  return (space >= max * 0.8 ? cut.slice(0, space) : cut).trimEnd();
}
