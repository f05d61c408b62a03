import { describe, expect, it } from 'vitest';
import { pool } from './pool';

describe('pool', () => {
  it('gives the results in the items’ order with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await pool(
      [5, 1, 4, 2, 3, 0, 6],
      async (ms, i) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, ms));
        inFlight--;
        return `${i}:${ms}`;
      },
      3,
    );
    expect(out).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:6']);
    expect(most).toBe(3);
  });

  it('takes each item once, and none when the list is empty', async () => {
    const seen: number[] = [];
    await pool([1, 2, 3], async (item) => void seen.push(item), 8);
    expect(seen.sort()).toEqual([1, 2, 3]);
    expect(await pool([], async () => 1, 4)).toEqual([]);
  });
});
