// A request's body, read once however many recorders look at it: the observer and the
// exchange log both wrap the same Request on its way to a server, and each clone of a
// Request tees its body stream, which costs more than the request's own handling.
const bodies = new WeakMap<Request, Promise<Uint8Array>>();

/**
 * `request`, whose body is known to be `bytes` (its maker encoded them): recorders and the
 * handler take these instead of reading the stream. A Request's body cannot be replaced,
 * so the bytes stay true for this object; a copy made from it is read as usual.
 */
export function withKnownBody(request: Request, bytes: Uint8Array): Request {
  bodies.set(request, Promise.resolve(bytes));
  return request;
}

/** The body's bytes, read from a clone so that the request itself stays unread. */
export function bodyOf(request: Request): Promise<Uint8Array> {
  let body = knownBody(request);
  if (body === undefined) {
    body =
      request.body === null
        ? Promise.resolve(new Uint8Array())
        : request
            .clone()
            .arrayBuffer()
            .then((b) => new Uint8Array(b));
    bodies.set(request, body);
  }
  return body;
}

/** The bytes already known for `request` (given by its maker, read by a recorder, or none for GET and HEAD), if any. */
export function knownBody(request: Request): Promise<Uint8Array> | undefined {
  return bodies.get(request) ?? (bodiless(request) ? Promise.resolve(new Uint8Array()) : undefined);
}

// A GET or HEAD request has no body (the Request constructor refuses one), so it is known
// to be empty without asking: asking the lazy Request Hono's node adapter hands on for its
// body makes it build the whole Request behind it (about 50 us of a bare round trip).
const bodiless = (request: Request) => request.method === 'GET' || request.method === 'HEAD';
