import { describe, expect, test } from 'vitest';
import { median, quantile } from './stats.ts';

describe('the statistics the benchmark reports', () => {
  test('median and quartiles of samples in any order', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(median(samples)).toBe(3);
    expect(quantile(samples, 0.25)).toBe(2);
    expect(quantile(samples, 0.75)).toBe(4);
    expect(quantile(samples, 0)).toBe(1);
    expect(quantile(samples, 1)).toBe(5);
  });

  test('a quantile between two ranks is interpolated, and none of no samples is NaN', () => {
    expect(quantile([1, 2], 0.5)).toBe(1.5);
    expect(quantile([10, 20, 30, 40], 0.25)).toBe(17.5);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([])).toBeNaN();
  });
});
