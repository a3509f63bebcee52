// A request's body, read once however many recorders look at it: the observer and the
// exchange log both wrap the same Request on its way to a server, and each clone of a
// Request tees its body stream, which costs more than the request's own handling.
const bodies = new WeakMap<Request, Promise<Uint8Array>>();

/** The body's bytes, read from a clone so that the request itself stays unread. */
export function bodyOf(request: Request): Promise<Uint8Array> {
  let body = bodies.get(request);
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
