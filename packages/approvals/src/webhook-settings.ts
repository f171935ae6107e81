import { env } from '@ensemble/config';
import type { Logger } from '@ensemble/telemetry';
import { z } from 'zod';

import { WEBHOOK_DELIVERY_DEFAULTS, WebhookNotifier, hostOf } from './webhooks.js';

/**
 * The approval webhook variables. A schema fragment, not a reader: the gateway and the orchestrator both
 * change approvals, so both spread it into their config (and add `requireApprovalWebhookSecret` as a
 * refinement), with the same names, defaults and meaning (see the README's configuration table).
 */
export const ApprovalWebhookSettings = z.object({
  /** Comma-separated http(s) URLs; each gets a signed JSON `POST` when an approval is requested, decided or expired. Empty: none. */
  APPROVAL_WEBHOOK_URLS: env.list().pipe(z.array(z.url({ protocol: /^https?$/, message: 'expected comma-separated http(s) URLs' }))),
  /** HMAC-SHA256 key of `X-Ensemble-Signature`; required when `APPROVAL_WEBHOOK_URLS` is set. */
  APPROVAL_WEBHOOK_SECRET: env.optionalString(),
  /** First retry delay of a failed delivery (doubling, with jitter, up to 30 s; 6 attempts in all). */
  APPROVAL_WEBHOOK_RETRY_INITIAL_MS: env.int(WEBHOOK_DELIVERY_DEFAULTS.initialDelayMs, 0),
});
export type ApprovalWebhookSettings = z.infer<typeof ApprovalWebhookSettings>;

/** The part of a refinement context this needs (zod's `superRefine` passes a wider one). */
interface IssueSink {
  addIssue(issue: { code: 'custom'; path: string[]; message: string }): void;
}

/** `superRefine` for a config that spreads `ApprovalWebhookSettings.shape`: unsigned webhooks are refused at start-up. */
export function requireApprovalWebhookSecret(config: Pick<ApprovalWebhookSettings, 'APPROVAL_WEBHOOK_URLS' | 'APPROVAL_WEBHOOK_SECRET'>, ctx: IssueSink): void {
  if (config.APPROVAL_WEBHOOK_URLS.length > 0 && config.APPROVAL_WEBHOOK_SECRET === undefined) {
    ctx.addIssue({ code: 'custom', path: ['APPROVAL_WEBHOOK_SECRET'], message: 'required when APPROVAL_WEBHOOK_URLS is set (the key receivers verify X-Ensemble-Signature with)' });
  }
}

/** The notifier the settings ask for, or undefined when no webhook URL is set. */
export function createWebhookNotifier(settings: ApprovalWebhookSettings, logger: Logger): WebhookNotifier | undefined {
  if (settings.APPROVAL_WEBHOOK_URLS.length === 0 || settings.APPROVAL_WEBHOOK_SECRET === undefined) return undefined;
  logger.info({ url_hosts: settings.APPROVAL_WEBHOOK_URLS.map(hostOf) }, 'approval webhooks on');
  return new WebhookNotifier({
    urls: settings.APPROVAL_WEBHOOK_URLS,
    secret: settings.APPROVAL_WEBHOOK_SECRET,
    logger,
    initialDelayMs: settings.APPROVAL_WEBHOOK_RETRY_INITIAL_MS,
  });
}
