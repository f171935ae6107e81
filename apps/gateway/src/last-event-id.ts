import { EnsembleError, ErrorCode } from '@ensemble/protocol';

/**
 * `Last-Event-ID`: the position of the last workflow event the client saw (the SSE `id:` it got), or
 * `undefined` without one. Anything but such a number is a 400 naming the header.
 */
export function parseLastEventId(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  if (!/^\d{1,15}$/.test(header)) {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'Last-Event-ID must be the non-negative integer id of an event this API sent', { details: { param: 'Last-Event-ID' } });
  }
  return Number(header);
}
