import { beforeAll, describe, expect, it } from 'vitest';
import { formatBytes, formatNumber, formatPercent, timeLeftText } from './format';
import { i18n } from './i18n';

beforeAll(async () => {
  await i18n.changeLanguage('en');
});

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

describe('timeLeftText in Chinese', () => {
  it('says the same estimate in the interface language', async () => {
    await i18n.changeLanguage('zh-CN');
    try {
      expect(timeLeftText({ at: 0, done: 0 }, { at: 10_000, done: 1000 }, 10_000)).toBe('剩余约 2 分钟');
      expect(timeLeftText({ at: 0, done: 0 }, { at: 10_000, done: 6000 }, 10_000)).toBe('剩余不到一分钟');
    } finally {
      await i18n.changeLanguage('en');
    }
  });
});

describe('numbers', () => {
  it('are written by Intl in the language asked for', () => {
    expect(formatNumber(12345, 'en')).toBe('12,345');
    expect(formatNumber(12345, 'zh-CN')).toBe('12,345');
    expect(formatPercent(0.3, 'en')).toBe('30%');
    expect(formatBytes(512, 'en')).toBe('512 B');
    expect(formatBytes(1536, 'en')).toBe('1.5 KB');
    expect(formatBytes(5 * 1024 ** 2, 'zh-CN')).toBe('5.0 MB');
    expect(formatBytes(2.5 * 1024 ** 3, 'en')).toBe('2.50 GB');
  });
});
