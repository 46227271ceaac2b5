import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../../src/dsl/duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['0s', 0],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    ['0.5m', 30_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['90m', 5_400_000],
  ])('%s → %d', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(new RegExp(DURATION_PATTERN).test(text)).toBe(true);
  });

  it.each(['', '5', 'm', '5 m', '5min', '30m1h', '5m5m', '1.s', '.5s', '-5s', '5S', ' 5s', '5s ', '1h30', 'ms', '5msx'])(
    '%j is not a duration',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
      expect(new RegExp(DURATION_PATTERN, 'u').test(text)).toBe(false);
    },
  );
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [999.4, '999ms'],
    [999.6, '1s'],
    [1500, '1.5s'],
    [9_949, '9.9s'],
    [9_960, '10s'],
    [42_000, '42s'],
    [59_600, '1m'],
    [65_000, '1m 05s'],
    [300_000, '5m'],
    [3_599_000, '59m 59s'],
    [3_600_000, '1h'],
    [5_400_000, '1h 30m'],
    [3_900_000, '1h 05m'],
    [90_000_000, '1d 01h'],
    [172_800_000, '2d'],
    [-65_000, '-1m 05s'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
