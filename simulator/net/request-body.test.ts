// One read of a request body, shared by recorders and the handler.
import { describe, expect, it } from 'vitest';
import { bodyOf, knownBody, withKnownBody } from './request-body.ts';

const post = (body: string) => new Request('http://hs.example/x', { method: 'POST', body });
const text = async (bytes: Promise<Uint8Array> | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(await bytes);

describe('request bodies', () => {
  it('a known body is served without reading the stream, which stays readable', async () => {
    const request = withKnownBody(post('{"a":1}'), new TextEncoder().encode('{"a":1}'));
    expect(await text(bodyOf(request))).toBe('{"a":1}');
    expect(await text(knownBody(request))).toBe('{"a":1}');
    expect(request.bodyUsed).toBe(false);
    expect(await request.text()).toBe('{"a":1}');
  });

  it('an unknown body is read once from a clone, then known to the handler', async () => {
    const request = post('{"b":2}');
    expect(knownBody(request)).toBeUndefined();
    expect(await text(bodyOf(request))).toBe('{"b":2}');
    expect(request.bodyUsed).toBe(false);
    expect(await text(knownBody(request))).toBe('{"b":2}');
  });

  it('a copy of a request is read for itself', async () => {
    const original = withKnownBody(post('{"c":3}'), new TextEncoder().encode('{"c":3}'));
    const copy = new Request(original);
    expect(knownBody(copy)).toBeUndefined();
    expect(await text(bodyOf(copy))).toBe('{"c":3}');
  });

  it('a GET or HEAD is known empty without asking for its body, which a lazy request builds', async () => {
    for (const method of ['GET', 'HEAD']) {
      const request = new Request('http://hs.example/x', { method });
      Object.defineProperty(request, 'body', {
        get() {
          throw new Error('asked for the body');
        },
      });
      expect((await bodyOf(request)).length).toBe(0);
      expect((await knownBody(request))?.length).toBe(0);
    }
    expect(knownBody(post('{"d":4}'))).toBeUndefined();
  });

  it('a request without a body has empty bytes', async () => {
    expect((await bodyOf(new Request('http://hs.example/x'))).length).toBe(0);
  });
});
