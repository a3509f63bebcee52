import { describe, expect, test } from 'vitest';
import { OffsetClock } from '../net/clock.ts';
import { CLOCK_PATH, withClockApi } from './clock-api.ts';

const TOKEN = 'secret';
const homeserver = () => Promise.resolve(new Response('the homeserver'));

const put = (api: ReturnType<typeof withClockApi>, body: unknown, token = TOKEN) =>
  api(
    new Request(`http://hs${CLOCK_PATH}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }),
  );

describe('the clock verb of fedconn serve', () => {
  test('an absolute offset moves the clock, and setting it again does not add up', async () => {
    const clock = new OffsetClock();
    const api = withClockApi(clock, TOKEN, homeserver);
    const before = Date.now();
    expect((await put(api, { offset_ms: 3_600_000 })).status).toBe(200);
    expect((await put(api, { offset_ms: 3_600_000 })).status).toBe(200);
    expect(clock.offset).toBe(3_600_000);
    expect(clock.now()).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(clock.now()).toBeLessThan(before + 3_600_000 + 60_000);
    const read = await api(
      new Request(`http://hs${CLOCK_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    expect(((await read.json()) as { offset_ms: number }).offset_ms).toBe(3_600_000);
  });

  test('a negative or fractional offset, a wrong token, a wrong method and other paths are told apart', async () => {
    const clock = new OffsetClock();
    const api = withClockApi(clock, TOKEN, homeserver);
    const negative = await put(api, { offset_ms: -1 });
    expect(negative.status).toBe(400);
    expect(((await negative.json()) as { error: string }).error).toContain('offset_ms');
    expect((await put(api, { offset_ms: 1.5 })).status).toBe(400);
    expect((await put(api, { offset_ms: 10 }, 'wrong')).status).toBe(401);
    expect(clock.offset).toBe(0);
    const post = await api(
      new Request(`http://hs${CLOCK_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, PUT');
    expect(((await post.json()) as { errcode: string }).errcode).toBe('M_UNRECOGNIZED');
    expect(await (await api(new Request('http://hs/elsewhere'))).text()).toBe('the homeserver');
  });
});
