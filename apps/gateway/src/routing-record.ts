import type { RoutingDecision } from '@ensemble/protocol';
import type { Logger } from '@ensemble/telemetry';
import { trace } from '@ensemble/telemetry';

/**
 * The decision goes on the request span (the active one) and into the request's access-log line, so
 * routing can be audited later. A fallback (the classifier failed) also gets a warning of its own when it
 * happens. Both ways a chat request is served (the app's route, the passthrough lane) record it here.
 */
export function recordDecision(decision: RoutingDecision, request: { accessLog: Record<string, unknown>; logger: Logger }): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording() === true) {
    span.setAttributes({
      'ensemble.routing.path': decision.path,
      'ensemble.routing.source': decision.source,
      'ensemble.routing.reason': decision.reason,
      'ensemble.routing.cached': decision.cached ?? false,
      ...(decision.confidence === undefined ? {} : { 'ensemble.routing.confidence': decision.confidence }),
    });
  }
  request.accessLog['routing'] = decision;
  if (decision.source === 'fallback') request.logger.warn({ routing: decision }, 'routing fell back to passthrough');
}
