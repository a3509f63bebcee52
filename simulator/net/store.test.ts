// Tables index their rows by owner, user or queue, so lookups need no scan.
import { describe, expect, test } from 'vitest';
import { systemClock } from './clock.ts';
import { Observer } from './observer.ts';
import { Table } from './store.ts';

describe('table indexes', () => {
  test('where() gives the rows of one group in the table’s order, through puts and deletes', () => {
    const table = new Table<{ owner: string; n: number }>(
      't',
      new Observer(systemClock).recorder('s'),
    ).index('owner', (row) => row.owner);
    table.put('a', { owner: 'x', n: 1 });
    table.put('b', { owner: 'y', n: 2 });
    table.put('c', { owner: 'x', n: 3 });
    table.put('a', { owner: 'x', n: 4 }); // a put again keeps its place, as in a Map
    expect(table.where('owner', 'x')).toEqual(
      table.entries().filter(([, row]) => row.owner === 'x'),
    );
    expect(table.where('owner', 'x').map(([key]) => key)).toEqual(['a', 'c']);
    table.delete('a');
    table.put('a', { owner: 'x', n: 5 }); // deleted and put again: last
    expect(table.where('owner', 'x').map(([key]) => key)).toEqual(['c', 'a']);
    expect(table.where('owner', 'nobody')).toEqual([]);
    expect(() => {
      table.put('b', { owner: 'x', n: 6 });
    }).toThrow('would move between index groups');
    expect(() => table.where('other', 'x')).toThrow('table t has no index other');
  });
});
