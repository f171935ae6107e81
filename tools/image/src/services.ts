/**
 * The services the container image runs, by the name its entrypoint takes as the command. One table for
 * the build (which app to bundle), the image's health check (which port and path) and the deployment
 * tests (compose and Kubernetes ports and probes are checked against it).
 */
export interface ImageService {
  /** The command given to the image, and the service's name in docker-compose and Kubernetes. */
  readonly name: string;
  /** Folder under `apps/` whose `src/main.ts` is the entry point. */
  readonly app: string;
  /**
   * How the health check reaches it: `http` (GET `healthPath`), `postgres` (a `SELECT 1`), or `none`
   * for a command that runs and exits (the CLI).
   */
  readonly probe: 'http' | 'postgres' | 'none';
  /** Variable holding the port, and the port when it is unset. */
  readonly portVariable?: string;
  readonly defaultPort?: number;
  /** Variable holding the bind address (the image sets it to 0.0.0.0: a container is reached from outside). */
  readonly hostVariable?: string;
  /** Liveness: the process serves requests. */
  readonly healthPath?: string;
  /** Readiness: its dependencies answer (`/ready` on every HTTP service). */
  readonly readyPath?: string;
  /** Extra entry points bundled beside `main.js` (worker threads loaded by URL). */
  readonly extraEntries?: Readonly<Record<string, string>>;
}

export const IMAGE_SERVICES: readonly ImageService[] = [
  { name: 'gateway', app: 'gateway', probe: 'http', portVariable: 'GATEWAY_PORT', defaultPort: 8000, hostVariable: 'GATEWAY_HOST', healthPath: '/health', readyPath: '/ready' },
  { name: 'orchestrator', app: 'orchestrator', probe: 'http', portVariable: 'ORCHESTRATOR_PORT', defaultPort: 8001, hostVariable: 'ORCHESTRATOR_HOST', healthPath: '/health', readyPath: '/ready' },
  { name: 'planning-agent', app: 'planning-agent', probe: 'http', portVariable: 'PLANNING_AGENT_PORT', defaultPort: 8002, hostVariable: 'PLANNING_AGENT_HOST', healthPath: '/health', readyPath: '/ready' },
  { name: 'reasoning-agent', app: 'reasoning-agent', probe: 'http', portVariable: 'REASONING_AGENT_PORT', defaultPort: 8003, hostVariable: 'REASONING_AGENT_HOST', healthPath: '/health', readyPath: '/ready' },
  { name: 'rag-agent', app: 'rag-agent', probe: 'http', portVariable: 'RAG_AGENT_PORT', defaultPort: 8004, hostVariable: 'RAG_AGENT_HOST', healthPath: '/health', readyPath: '/ready' },
  {
    name: 'mcp-tools',
    app: 'mcp-tools',
    probe: 'http',
    portVariable: 'MCP_TOOLS_PORT',
    defaultPort: 8010,
    hostVariable: 'MCP_TOOLS_HOST',
    healthPath: '/health',
    readyPath: '/ready',
    extraEntries: { 'calculator-worker': 'src/tools/calculator-worker.ts' },
  },
  { name: 'mock-agent', app: 'mock-agents', probe: 'http', portVariable: 'MOCK_AGENT_PORT', defaultPort: 8201, hostVariable: 'MOCK_AGENT_HOST', healthPath: '/health', readyPath: '/ready' },
  { name: 'sim-llm', app: 'sim-llm', probe: 'http', portVariable: 'SIM_LLM_PORT', defaultPort: 8100, hostVariable: 'SIM_LLM_HOST', healthPath: '/health', readyPath: '/ready' },
  { name: 'embedded-postgres', app: 'embedded-postgres', probe: 'postgres', portVariable: 'EMBEDDED_PG_PORT', defaultPort: 5433, hostVariable: 'EMBEDDED_PG_HOST' },
  { name: 'cli', app: 'cli', probe: 'none' },
];

export function imageService(name: string): ImageService | undefined {
  return IMAGE_SERVICES.find((service) => service.name === name);
}
