// What the order of polls gives away, shared by the attacks that read it: a client
// signs the poll of its own AS queue with its client credential, which names its user,
// and a poll that comes shortly after (an alias queue, a QS queue, signed with keys that
// name no one) is credited to that user, the closer the more (weight 1 / distance in
// requests).
import type { RecordedRequest } from '../../simulator/net/observer.ts';

const OWN_QUEUE = '/_fedconn/v1/as/queue';
export const CLIENT_KEY = /key="client:([^/"]+)\//;

/**
 * For each subject polled (what `subjectOf` names in a GET's path), each user's credit:
 * the sum, over its polls, of 1 / the distance back to that user's last own-queue poll.
 */
export function creditByPollOrder(
  requests: readonly RecordedRequest[],
  subjectOf: (path: string) => string | undefined,
): Map<string, Map<string, number>> {
  const credit = new Map<string, Map<string, number>>();
  let last: { readonly user: string; readonly at: number } | undefined;
  requests.forEach((request, index) => {
    if (request.method !== 'GET') return;
    if (request.path === OWN_QUEUE) {
      const user = CLIENT_KEY.exec(request.headers.authorization ?? '')?.[1];
      if (user !== undefined) last = { user, at: index };
      return;
    }
    const subject = subjectOf(request.path);
    if (subject === undefined || last === undefined) return;
    const scores = credit.get(subject) ?? new Map<string, number>();
    scores.set(last.user, (scores.get(last.user) ?? 0) + 1 / (index - last.at));
    credit.set(subject, scores);
  });
  return credit;
}
