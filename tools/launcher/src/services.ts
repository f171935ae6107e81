import type { LauncherConfig } from './config.js';
import type { ServiceSpec } from './supervisor.js';

/** URLs of services already started, by name, plus what the launcher resolved itself. */
export interface LaunchContext {
  config: LauncherConfig;
  urls: ReadonlyMap<string, string>;
}

export interface PlannedService {
  name: string;
  /** Services in one wave start together; a wave starts when the previous one is healthy. */
  wave: number;
  spec(context: LaunchContext): Omit<ServiceSpec, 'name'>;
}

/** Where the services' LLM is: the configured one, or the sim-llm the launcher starts. */
export function llmBaseUrl(context: LaunchContext): string {
  if (context.config.OPENAI_BASE_URL !== undefined) return context.config.OPENAI_BASE_URL;
  if (context.config.OPENAI_API_KEY !== undefined) return 'https://api.openai.com/v1';
  return `${requireUrl(context, 'sim-llm')}/v1`;
}

export function usesSimLlm(config: LauncherConfig): boolean {
  return config.OPENAI_BASE_URL === undefined && config.OPENAI_API_KEY === undefined;
}

function requireUrl(context: LaunchContext, name: string): string {
  const url = context.urls.get(name);
  if (url === undefined) throw new Error(`${name} must start before the services that use it`);
  return url;
}

/**
 * The system `make up` runs, in dependency order. Every service is its own process; URLs flow from the
 * services that bound them to the services that call them, so ports can be changed (or set to 0) freely.
 */
export function planServices(config: LauncherConfig): PlannedService[] {
  const services: PlannedService[] = [];
  if (usesSimLlm(config)) {
    services.push({
      name: 'sim-llm',
      wave: 0,
      spec: () => ({ entry: 'apps/sim-llm/src/main.ts', portVariable: 'SIM_LLM_PORT', healthPath: '/health', env: {} }),
    });
  }
  services.push({
    name: 'gateway',
    wave: 3,
    spec: (context) => ({
      entry: 'apps/gateway/src/main.ts',
      portVariable: 'GATEWAY_PORT',
      healthPath: '/health',
      env: { OPENAI_BASE_URL: llmBaseUrl(context), REDIS_URL: context.config.REDIS_URL },
    }),
  });
  return services;
}
