import { z } from 'zod';

/**
 * The parts of an A2A Agent Card that Ensemble relies on (discovery, planning, routing). Tolerant by
 * design: unknown fields are ignored, optional descriptive fields default to empty, and both card
 * generations are accepted: A2A v1.0 (`supportedInterfaces[]`) and v0.3 (`url` + `preferredTransport`).
 * The full card is kept separately (as the SDK's `AgentCard`); this is the validated summary.
 */
const AgentInterfaceSummary = z.looseObject({
  url: z.url(),
  protocolBinding: z.string().min(1),
  protocolVersion: z.string().optional(),
});

export const AgentSkillSummary = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string().default(''),
  tags: z.array(z.string()).default([]),
  examples: z.array(z.string()).default([]),
});
export type AgentSkillSummary = z.infer<typeof AgentSkillSummary>;

export const AgentCardSummary = z
  .looseObject({
    name: z.string().min(1),
    description: z.string().default(''),
    version: z.string().optional(),
    supportedInterfaces: z.array(AgentInterfaceSummary).optional(),
    // v0.3 cards: a single endpoint plus the transport it speaks.
    url: z.url().optional(),
    preferredTransport: z.string().optional(),
    protocolVersion: z.string().optional(),
    capabilities: z.looseObject({ streaming: z.boolean().optional(), pushNotifications: z.boolean().optional() }).nullish(),
    skills: z.array(AgentSkillSummary).default([]),
  })
  .transform((card, ctx) => {
    const interfaces =
      card.supportedInterfaces !== undefined && card.supportedInterfaces.length > 0
        ? card.supportedInterfaces.map((entry) => ({
            url: entry.url,
            protocolBinding: entry.protocolBinding,
            protocolVersion: entry.protocolVersion ?? '1.0',
          }))
        : card.url === undefined
          ? []
          : [{ url: card.url, protocolBinding: card.preferredTransport ?? 'JSONRPC', protocolVersion: card.protocolVersion ?? '0.3' }];
    if (interfaces.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['supportedInterfaces'], message: 'the card declares no endpoint (neither supportedInterfaces nor url)' });
      return z.NEVER;
    }
    return {
      name: card.name,
      description: card.description,
      version: card.version,
      interfaces,
      streaming: card.capabilities?.streaming ?? false,
      skills: card.skills.map(({ id, name, description, tags, examples }) => ({ id, name, description, tags, examples })),
    };
  });
export type AgentCardSummary = z.output<typeof AgentCardSummary>;
