import { describe, expect, test } from 'vitest';
import { narrowed, narrowingsOf, without } from './narrowing.ts';

const content = { a: 1, payload: { lifetime: 2, key: 'k' } };

describe('signatures over the wrong fields', () => {
  test('every field left out, every field renamed, one extra', () => {
    expect(narrowingsOf(['a', 'payload.lifetime'])).toEqual([
      'omit a',
      'omit payload.lifetime',
      'rename a',
      'rename payload.lifetime',
      'extra',
    ]);
  });

  test('each narrowing changes only what it names, at any depth', () => {
    expect(narrowed(content, 'omit a')).toEqual({ payload: { lifetime: 2, key: 'k' } });
    expect(narrowed(content, 'omit payload.lifetime')).toEqual({ a: 1, payload: { key: 'k' } });
    expect(narrowed(content, 'rename payload.key')).toEqual({
      a: 1,
      payload: { lifetime: 2, key_: 'k' },
    });
    expect(narrowed(content, 'extra')).toEqual({ ...content, fedconn_extra: 'not in the object' });
    expect(content).toEqual({ a: 1, payload: { lifetime: 2, key: 'k' } });
  });

  test('a narrowing of a field the object lacks is a bug of the check', () => {
    expect(() => narrowed(content, 'omit b')).toThrow('no field b');
    expect(() => narrowed(content, 'omit a.b')).toThrow('no object at a');
  });

  test('without: what a verifier that forgot the field checks', () => {
    expect(without(content, 'payload.lifetime')).toEqual({ a: 1, payload: { key: 'k' } });
    expect(without(content, 'missing')).toBe(content);
    expect(without('text', 'a')).toBe('text');
  });
});
