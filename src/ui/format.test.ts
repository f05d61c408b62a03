import { describe, expect, it } from 'vitest';
import { timeLeftText } from './format';

describe('timeLeftText', () => {
  it('estimates from the average rate since the work was first seen', () => {
    // 1,000 books in 10 s: 9,000 left at 100/s is 90 s, about 2 minutes.
    expect(timeLeftText({ at: 0, done: 0 }, { at: 10_000, done: 1000 }, 10_000)).toBe('about 2 minutes left');
    expect(timeLeftText({ at: 0, done: 0 }, { at: 10_000, done: 6000 }, 10_000)).toBe('less than a minute left');
    expect(timeLeftText({ at: 0, done: 0 }, { at: 10_000, done: 1000 }, 1900)).toBe('less than a minute left');
    expect(timeLeftText({ at: 5000, done: 2000 }, { at: 15_000, done: 2500 }, 5500)).toBe('about a minute left');
  });

  it('says nothing before it has seen enough, or when nothing moves', () => {
    expect(timeLeftText({ at: 0, done: 0 }, { at: 3000, done: 300 }, 10_000)).toBeUndefined();
    expect(timeLeftText({ at: 0, done: 500 }, { at: 20_000, done: 500 }, 10_000)).toBeUndefined();
  });
});
