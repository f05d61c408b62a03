import { describe, expect, it } from 'vitest';
import { holdOutLastLike, parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from './goodbooks';

const csv = ['book_id,user_id,rating', '1,10,5', '1,11,2', '2,10,3', '3,10,1', '3,11,5', '4,10,4', '2,11,4', '4,10,2', '5,12,5', ''].join('\n');

describe('goodbooks ratings', () => {
  it('parses rows in file order and keeps the last rating of a duplicated pair at its position', () => {
    const table = parseGoodbooksRatings(csv);
    expect(table.userIds).toEqual(['10', '11', '12']);
    expect(table.duplicatesDropped).toBe(1);
    // (10, 4) was rated 4 then 2: the 2 stays, after (11, 2).
    const rows = rowsPerUser(table).map((rows) => rows.map((row) => `${table.books[row]}:${table.ratings[row]}`));
    expect(rows).toEqual([['1:5', '2:3', '3:1', '4:2'], ['1:2', '3:5', '2:4'], ['5:5']]);
  });

  it('refuses a broken row with its line number', () => {
    expect(() => parseGoodbooksRatings('book_id,user_id,rating\n1,2,7')).toThrow(/line 2/);
    expect(() => parseGoodbooksRatings('user,item\n1,2')).toThrow(/header/);
  });

  it('holds out the last like in file order; 4+ stars are likes, 2- dislikes, 3 neither', () => {
    const table = parseGoodbooksRatings(csv);
    const rows = rowsPerUser(table);
    expect(holdOutLastLike(table, rows[1]!)).toEqual({
      history: [
        { kind: 'dislike', book: '1' },
        { kind: 'like', book: '3' },
      ],
      heldOut: '2',
      rated: new Set(['1', '3', '2']),
    });
    // User 10's only like is held out: nothing left to learn from. User 12 has one rating.
    expect(holdOutLastLike(table, rows[0]!)).toBeUndefined();
    expect(holdOutLastLike(table, rows[2]!)).toBeUndefined();
  });

  it('splits users 80/10/10, disjoint, reproducibly, whatever the file order', () => {
    const userIds = Array.from({ length: 1000 }, (_, i) => String(i + 1));
    const split = splitGoodbooksUsers({ userIds });
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([800, 100, 100]);
    expect(new Set([...split.train, ...split.validation, ...split.test]).size).toBe(1000);
    expect(splitGoodbooksUsers({ userIds })).toEqual(split);
    // The same users listed in another order get the same split (by id, not by position).
    const reversed = [...userIds].reverse();
    const other = splitGoodbooksUsers({ userIds: reversed });
    expect(other.test.map((index) => reversed[index]).sort()).toEqual(split.test.map((index) => userIds[index]).sort());
    // Another seed, another split.
    expect(splitGoodbooksUsers({ userIds }, 7).test).not.toEqual(split.test);
  });
});
