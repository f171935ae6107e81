import { loadConfig } from '@ensemble/config';
import { describe, expect, it } from 'vitest';

import { OrchestratorConfig } from './config.js';

describe('OrchestratorConfig approval webhooks', () => {
  it('are off by default and read the same variables as the gateway', () => {
    expect(loadConfig(OrchestratorConfig, {})).toMatchObject({ APPROVAL_WEBHOOK_URLS: [], APPROVAL_WEBHOOK_RETRY_INITIAL_MS: 1_000, APPROVAL_TIMEOUT_SECONDS: 86_400 });
    expect(loadConfig(OrchestratorConfig, { APPROVAL_WEBHOOK_URLS: 'http://127.0.0.1:9/hook', APPROVAL_WEBHOOK_SECRET: 's' })).toMatchObject({ APPROVAL_WEBHOOK_URLS: ['http://127.0.0.1:9/hook'], APPROVAL_WEBHOOK_SECRET: 's' });
  });

  it('refuses webhook URLs without a secret, naming the variable', () => {
    expect(() => loadConfig(OrchestratorConfig, { APPROVAL_WEBHOOK_URLS: 'http://127.0.0.1:9/hook' })).toThrow(/APPROVAL_WEBHOOK_SECRET: required when APPROVAL_WEBHOOK_URLS is set/);
  });
});
