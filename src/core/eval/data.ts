/**
 * Interaction data sets for evaluation and global training, parsed from text (no file system here:
 * cli/data reads the files). Users and items get dense 0-based indices in order of first appearance
 * in the item list (items) and the interactions (users).
 */
import { parse } from 'csv-parse/sync';

export interface InteractionData {
  userIds: string[];
  itemIds: string[];
  /** The text the encoder embeds, per item index. */
  itemTexts: string[];
  users: Int32Array;
  items: Int32Array;
  values: Float32Array;
  /** Seconds (or any monotone time); ties keep file order. */
  times: Float64Array;
}

const ML100K_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

/**
 * MovieLens 100K: `u.data` (user \t item \t rating \t time) and `u.item` (id|title|date|…|19 genre flags),
 * the latter decoded as Latin-1 by the caller. Item text: "Title (year) Genre, Genre".
 */
export function parseMovieLens100k(uData: string, uItem: string): InteractionData {
  const itemIds: string[] = [];
  const itemTexts: string[] = [];
  for (const line of uItem.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split('|');
    const genres = fields.slice(-19).flatMap((flag, g) => (flag.trim() === '1' && g > 0 ? [ML100K_GENRES[g]!] : []));
    itemIds.push(fields[0]!);
    itemTexts.push(`${fields[1]!.trim()} ${genres.join(', ')}`.trim());
  }
  const rows = uData
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.split('\t'));
  return build(
    rows.map(([user, item, value, time]) => ({ user: user!, item: item!, value: Number(value), time: Number(time) })),
    itemIds,
    itemTexts,
  );
}

/** Generic CSV: interactions with columns user,item,value,time and items with item,text (headers required). */
export function parseInteractionCsv(interactionsCsv: string, itemsCsv: string): InteractionData {
  const itemRows = parse(itemsCsv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const interactionRows = parse(interactionsCsv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  for (const column of ['item', 'text']) {
    if (itemRows.length > 0 && !(column in itemRows[0]!)) throw new Error(`items CSV has no '${column}' column`);
  }
  for (const column of ['user', 'item']) {
    if (interactionRows.length > 0 && !(column in interactionRows[0]!)) {
      throw new Error(`interactions CSV has no '${column}' column`);
    }
  }
  return build(
    interactionRows.map((row, index) => ({
      user: row.user!,
      item: row.item!,
      value: row.value === undefined || row.value === '' ? 1 : Number(row.value),
      time: row.time === undefined || row.time === '' ? index : Number(row.time),
    })),
    itemRows.map((row) => row.item!),
    itemRows.map((row) => row.text!),
  );
}

function build(rows: { user: string; item: string; value: number; time: number }[], itemIds: string[], itemTexts: string[]): InteractionData {
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));
  if (itemIndex.size !== itemIds.length) throw new Error('duplicate item ids in the item list');
  const userIndex = new Map<string, number>();
  const userIds: string[] = [];
  const kept = rows.filter((row) => itemIndex.has(row.item) && Number.isFinite(row.value) && Number.isFinite(row.time));
  const users = new Int32Array(kept.length);
  const items = new Int32Array(kept.length);
  const values = new Float32Array(kept.length);
  const times = new Float64Array(kept.length);
  kept.forEach((row, k) => {
    let user = userIndex.get(row.user);
    if (user === undefined) {
      user = userIds.length;
      userIndex.set(row.user, user);
      userIds.push(row.user);
    }
    users[k] = user;
    items[k] = itemIndex.get(row.item)!;
    values[k] = row.value;
    times[k] = row.time;
  });
  return { userIds, itemIds, itemTexts, users, items, values, times };
}

/** Interaction indices grouped by user. */
export function rowsByUser(data: Pick<InteractionData, 'users'>, userCount: number): number[][] {
  const out: number[][] = Array.from({ length: userCount }, () => []);
  data.users.forEach((user, row) => out[user]!.push(row));
  return out;
}
