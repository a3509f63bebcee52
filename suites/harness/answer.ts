// What a server answered, as checks and drivers judge it: the status and the body,
// parsed as JSON when it is JSON and kept as text when not (a failure shows it).

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // Keep the text.
  }
  return { status: response.status, body };
}
