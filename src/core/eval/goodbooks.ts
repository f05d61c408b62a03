/**
 * goodbooks-10k's ratings (`ratings-v1.csv`: book_id,user_id,rating) for training the shipped global
 * model (cli/train-global.ts) and for the product benchmark's real readers (cli/bench-product.ts):
 * one parser, one user split and one leave-one-out rule, so the two can never disagree about which
 * users were trained on.
 *
 * The file has no timestamps and is sorted by book_id: "the last like" is the last in file order,
 * which is the protocol the issue prescribes (it makes the held-out book the user's least popular
 * like, harder than a random one). Pure: no file system (the CLI reads the file and hands the text).
 */
import { seededUniform, shuffleInPlace } from '../random';

/** A rating of at least this many stars is a like (the held-out book is the last such). */
export const LIKE_MIN_RATING = 4;
/** A rating of at most this many stars is a dislike ("Not interested"); 3 stars are neither. */
export const DISLIKE_MAX_RATING = 2;
/** The seed of the 80/10/10 user split every tool uses (train-global, bench-product). */
export const GOODBOOKS_SPLIT_SEED = 19;

/** The ratings, one row per (user, book) pair, in file order. */
export interface RatingsTable {
  /** User ids as written in the file, in order of first appearance. */
  userIds: string[];
  /** Per row: index into userIds. */
  users: Int32Array;
  /** Per row: the book id as written (the catalog's item id). */
  books: string[];
  /** Per row: 1–5 stars. */
  ratings: Uint8Array;
  /** Pairs that appeared more than once (the last occurrence's rating kept, at its position). */
  duplicatesDropped: number;
}

/**
 * Parses `book_id,user_id,rating` (header required, columns in any order). A (user, book) pair rated
 * more than once (2,209 pairs in ratings-v1) keeps its last rating, at the position of its last
 * occurrence: a later rating is the reader's later opinion. Rows with a rating outside 1–5 or an
 * empty id are refused with the line number, not skipped: the file is ours and should be clean.
 */
export function parseGoodbooksRatings(csv: string): RatingsTable {
  const lines = csv.split(/\r?\n/);
  const header = lines[0]?.split(',').map((s) => s.trim()) ?? [];
  const [bookColumn, userColumn, ratingColumn] = ['book_id', 'user_id', 'rating'].map((name) => header.indexOf(name));
  if (bookColumn! < 0 || userColumn! < 0 || ratingColumn! < 0)
    throw new Error(`ratings CSV: the header must name book_id, user_id and rating (it is '${lines[0] ?? ''}')`);
  const userIndex = new Map<string, number>();
  const userIds: string[] = [];
  const rowUsers: number[] = [];
  const rowBooks: string[] = [];
  const rowRatings: number[] = [];
  /** `${user}\t${book}` → row, to find duplicates. */
  const rowOf = new Map<string, number>();
  let duplicates = 0;
  for (let line = 1; line < lines.length; line++) {
    const text = lines[line]!;
    if (text.trim() === '') continue;
    const fields = text.split(',');
    const book = fields[bookColumn!]?.trim() ?? '';
    const userId = fields[userColumn!]?.trim() ?? '';
    const rating = Number(fields[ratingColumn!]);
    if (!book || !userId || !Number.isInteger(rating) || rating < 1 || rating > 5) {
      throw new Error(`ratings CSV line ${line + 1}: expected book_id,user_id and a rating of 1 to 5, got '${text}'`);
    }
    let user = userIndex.get(userId);
    if (user === undefined) {
      user = userIds.length;
      userIndex.set(userId, user);
      userIds.push(userId);
    }
    const key = `${user}\t${book}`;
    const previous = rowOf.get(key);
    if (previous !== undefined) {
      rowUsers[previous] = -1; // dropped below
      duplicates++;
    }
    rowOf.set(key, rowUsers.length);
    rowUsers.push(user);
    rowBooks.push(book);
    rowRatings.push(rating);
  }
  const kept = rowUsers.flatMap((user, row) => (user < 0 ? [] : [row]));
  return {
    userIds,
    users: Int32Array.from(kept, (row) => rowUsers[row]!),
    books: kept.map((row) => rowBooks[row]!),
    ratings: Uint8Array.from(kept, (row) => rowRatings[row]!),
    duplicatesDropped: duplicates,
  };
}

/** Row indices per user (index into table.userIds), each in file order. */
export function rowsPerUser(table: RatingsTable): number[][] {
  const out: number[][] = Array.from({ length: table.userIds.length }, () => []);
  table.users.forEach((user, row) => out[user]!.push(row));
  return out;
}

export interface UserSplit {
  /** User indices (into table.userIds), ascending. */
  train: number[];
  validation: number[];
  test: number[];
}

/**
 * Splits the users 80/10/10 into train/validation/test: the users sorted by id (numerically when the
 * ids are numbers), shuffled with the seeded generator, cut at 80 % and 90 %. Depends only on the set
 * of user ids and the seed, not on the file's order. Settings are chosen on `validation`; `test` is
 * for the final figures only and is never trained on.
 */
export function splitGoodbooksUsers(table: Pick<RatingsTable, 'userIds'>, seed = GOODBOOKS_SPLIT_SEED): UserSplit {
  const byId = table.userIds.map((id, index) => ({ id, index }));
  byId.sort((a, b) => compareIds(a.id, b.id));
  const order = Int32Array.from(byId, (entry) => entry.index);
  shuffleInPlace(order, seededUniform(seed));
  const n = order.length;
  const trainEnd = Math.round(0.8 * n);
  const validationEnd = Math.round(0.9 * n);
  const ascending = (values: Int32Array) => Array.from(values).sort((a, b) => a - b);
  return {
    train: ascending(order.slice(0, trainEnd)),
    validation: ascending(order.slice(trainEnd, validationEnd)),
    test: ascending(order.slice(validationEnd)),
  };
}

function compareIds(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface HeldOutReader {
  /** The reader's other ratings in file order as the app's events: ≥ 4 stars a like, ≤ 2 a dislike (3 stars left out). */
  history: { kind: 'like' | 'dislike'; book: string }[];
  /** The last book in file order rated ≥ 4 stars. */
  heldOut: string;
  /** Every book the reader rated (3 stars and the held-out one included): excluded from the candidates except heldOut. */
  rated: Set<string>;
}

/**
 * Leave-last-like-out for one reader (`rows` from rowsPerUser): undefined when the reader has no like
 * to hold out or no like left to learn from.
 */
export function holdOutLastLike(table: RatingsTable, rows: readonly number[]): HeldOutReader | undefined {
  let last = -1;
  for (const row of rows) if (table.ratings[row]! >= LIKE_MIN_RATING) last = row;
  if (last < 0) return undefined;
  const history: HeldOutReader['history'] = [];
  for (const row of rows) {
    if (row === last) continue;
    const rating = table.ratings[row]!;
    if (rating >= LIKE_MIN_RATING) history.push({ kind: 'like', book: table.books[row]! });
    else if (rating <= DISLIKE_MAX_RATING) history.push({ kind: 'dislike', book: table.books[row]! });
  }
  if (!history.some((event) => event.kind === 'like')) return undefined;
  return { history, heldOut: table.books[last]!, rated: new Set(rows.map((row) => table.books[row]!)) };
}
