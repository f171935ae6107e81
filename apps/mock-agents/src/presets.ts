import type { MockAgentBehaviourInput } from './config.js';

/**
 * Built-in mock agents, one per role the planner chooses from. Skills are written the way a real agent's
 * card should be: what the skill does, when to pick it (and when not), and example requests.
 */
export const PRESET_NAMES = ['reasoning', 'rag', 'search', 'analysis', 'operations'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Record<PresetName, MockAgentBehaviourInput> = {
  reasoning: {
    name: 'reasoning-agent',
    description: 'Thinks problems through step by step and writes a justified answer (mock).',
    skills: [
      {
        id: 'reasoning',
        name: 'Step-by-step reasoning',
        description:
          'Breaks a question into steps, weighs evidence and alternatives, and writes a justified conclusion. ' +
          'Pick it for explanations, comparisons, trade-offs, plans and decisions that need careful thought; ' +
          'it does not look anything up, so give it the facts (or run retrieval first).',
        tags: ['reasoning', 'explanation', 'comparison', 'planning', 'synthesis'],
        examples: [
          'Compare PostgreSQL and MongoDB for an event-sourcing workload and recommend one',
          'Explain why the build got slower after the dependency upgrade, given these timings',
          'Combine the research notes below into a recommendation with risks',
        ],
      },
    ],
    statusUpdates: ['Breaking the question into steps', 'Weighing the alternatives'],
    reply:
      'Reasoning about "{{input}}": the question has three parts; taking each in turn and weighing the evidence, ' +
      'the most defensible conclusion is the one that keeps the design simple and reversible.',
    chunks: 4,
    chunkDelayMs: 20,
  },
  rag: {
    name: 'rag-agent',
    description: 'Answers from the internal document collection, citing the passages used (mock).',
    skills: [
      {
        id: 'document-retrieval',
        name: 'Internal document retrieval',
        description:
          'Searches the indexed internal documents (policies, runbooks, design docs, reports) and answers with ' +
          'citations to the passages found. Pick it when the answer should come from our own documents rather ' +
          'than the public web or general knowledge.',
        tags: ['rag', 'retrieval', 'documents', 'knowledge-base', 'citations'],
        examples: [
          'What does our travel policy say about booking business class?',
          'Find the runbook steps for rotating the database credentials',
          'Summarise the Q3 incident reports that mention the payment service',
        ],
      },
    ],
    statusUpdates: ['Searching the document index', 'Reading the top passages'],
    reply: 'From the internal documents about "{{input}}": the relevant policy (handbook §4.2) applies, as confirmed by two runbooks [1][2].',
    data: {
      sources: [
        { id: 'doc-handbook', title: 'Employee handbook §4.2', score: 0.91 },
        { id: 'doc-runbook-7', title: 'Runbook 7', score: 0.84 },
      ],
    },
    chunks: 3,
    chunkDelayMs: 20,
  },
  search: {
    name: 'search-agent',
    description: 'Searches the public web for current information (mock).',
    skills: [
      {
        id: 'web-search',
        name: 'Web search',
        description:
          'Searches the public web for recent or external information and returns the best results with title, ' +
          'URL and snippet, plus a short summary. Pick it for news, prices, releases, public facts and anything ' +
          'newer than the models’ training data; not for internal documents.',
        tags: ['search', 'web', 'news', 'current-events', 'external'],
        examples: [
          'What is the latest stable release of Node.js?',
          'Find recent articles about the A2A protocol',
          'Look up the current EUR to USD exchange rate',
        ],
      },
    ],
    statusUpdates: ['Querying the search engine'],
    reply: 'Top web results for "{{input}}": three recent, relevant pages were found; the first is the most authoritative.',
    data: {
      results: [
        { title: 'Result one for {{input}}', url: 'https://example.com/1', snippet: 'The most relevant page.' },
        { title: 'Result two for {{input}}', url: 'https://example.com/2', snippet: 'A second source.' },
        { title: 'Result three for {{input}}', url: 'https://example.com/3', snippet: 'Background reading.' },
      ],
    },
    chunks: 2,
    chunkDelayMs: 20,
  },
  analysis: {
    name: 'analysis-agent',
    description: 'Computes statistics, trends and comparisons over data (mock).',
    skills: [
      {
        id: 'data-analysis',
        name: 'Data analysis',
        description:
          'Computes statistics, trends, growth rates and comparisons over numeric or tabular data given in the ' +
          'request or produced by other agents, and returns findings plus a structured summary. Pick it when ' +
          'numbers must be calculated or compared, not for fetching them.',
        tags: ['analysis', 'statistics', 'data', 'trends', 'numbers'],
        examples: [
          'Compute the month-over-month growth of these sales figures',
          'Which of these three vendors is cheapest over five years, given their price lists?',
          'Find outliers in this latency table',
        ],
      },
    ],
    statusUpdates: ['Loading the data', 'Computing statistics'],
    reply: 'Analysis of "{{input}}": the series grows about 12% per period with one outlier in period 3.',
    data: { summary: { trend: 'up', growth_rate: 0.12, outliers: [3] } },
    chunks: 3,
    chunkDelayMs: 20,
  },
  operations: {
    name: 'operations-agent',
    description: 'Changes running systems (restart, deploy, roll back, delete services), always after a person approves (mock).',
    skills: [
      {
        id: 'service-operations',
        name: 'Service operations',
        description:
          'Restarts, deploys, rolls back or deletes a service in an environment. Every change asks a person for ' +
          'approval first, saying what will happen, why, the risks and the impact, with the exact arguments; the ' +
          'approver may edit them. Pick it for requests to change a running system, not for questions about one.',
        tags: ['operations', 'restart', 'deploy', 'rollback', 'delete', 'service', 'infrastructure'],
        examples: ['Restart the payments service in production', 'Deploy the checkout service to staging', 'Roll back the search service in production'],
      },
    ],
    parse: {
      pattern: String.raw`\b(?<operation>restart|redeploy|deploy|roll ?back|delete)\b(?:\s+(?:the|a|an))?\s+(?<service>[\w.-]+)(?:[^.]*?\b(?:in|to|on|from)\s+(?:the\s+)?(?<environment>[\w-]+))?`,
      defaults: { operation: 'change', service: 'unnamed', environment: 'production' },
    },
    failure: {
      mode: 'approval',
      summary: '{{operation}} the {{service}} service in {{environment}}',
      details: {
        action: '{{operation}} the {{service}} service in {{environment}}',
        reason: 'The request asks for it: "{{input}}"',
        risks: ['In-flight requests to {{service}} may fail while it changes', 'A bad change in {{environment}} affects its users until it is rolled back'],
        impact: 'The {{service}} service in {{environment}} is briefly unavailable or changes behaviour',
        arguments: { operation: '{{operation}}', service: '{{service}}', environment: '{{environment}}' },
        arguments_schema: {
          type: 'object',
          properties: {
            operation: { type: 'string', enum: ['restart', 'redeploy', 'deploy', 'rollback', 'roll back', 'delete', 'change'] },
            service: { type: 'string', minLength: 1 },
            environment: { type: 'string', enum: ['development', 'staging', 'production'] },
          },
          required: ['operation', 'service', 'environment'],
          additionalProperties: false,
        },
      },
    },
    statusUpdates: ['Running {{operation}} on {{service}} in {{environment}}'],
    reply: 'Done: {{operation}} of the {{service}} service in {{environment}} completed.',
    data: { performed: { operation: '{{operation}}', service: '{{service}}', environment: '{{environment}}' } },
    delayMs: 200,
  },
};
