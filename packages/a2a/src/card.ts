import { AgentCard, type AgentInterface, type AgentSkill } from '@a2a-js/sdk';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import { isLegacyAgentCard, parseLegacyAgentCard } from '@a2a-js/sdk/compat/v0_3/client';
import { EnsembleError, ErrorCode } from '@ensemble/protocol';

/** Where the kit mounts each transport, relative to the service's base URL. */
export const AGENT_CARD_PATH = '/.well-known/agent-card.json';
export const JSONRPC_PATH = '/a2a/jsonrpc';
export const REST_PATH = '/a2a/rest';

/** Name of the bearer scheme in the card's `securitySchemes`. */
export const BEARER_SCHEME = 'bearer';

export interface AgentSkillSpec {
  /** Stable id a planner refers to (`web-search`, `document-retrieval`, ...). */
  id: string;
  name: string;
  /** What the skill does and when to pick it; planners read this. */
  description: string;
  tags?: string[];
  /** Example requests, the best hint a planner gets. */
  examples?: string[];
  inputModes?: string[];
  outputModes?: string[];
}

/** What an agent author states about the agent; the kit adds endpoints, versions and security. */
export interface AgentCardSpec {
  name: string;
  description: string;
  /** The agent's own version (not the protocol's). Default `1.0.0`. */
  version?: string;
  skills: AgentSkillSpec[];
  provider?: { organization: string; url: string };
  documentationUrl?: string;
  /** Media types accepted. Default `text/plain`, `application/json`. */
  defaultInputModes?: string[];
  /** Media types produced. Default `text/plain`, `application/json`. */
  defaultOutputModes?: string[];
}

export interface CardEndpoints {
  /** The service's public base URL, e.g. `http://127.0.0.1:8201` (no trailing slash needed). */
  baseUrl: string;
  /** Declare the bearer scheme and require it for every skill. */
  bearerAuth: boolean;
  /** Also declare v0.3 interfaces so v0.3 clients pick the compatibility layer. */
  legacyCompat: boolean;
  /** Declare `capabilities.pushNotifications` (the push-config methods and webhook delivery). Default false. */
  pushNotifications?: boolean;
}

const DEFAULT_MODES = ['text/plain', 'application/json'];

/**
 * Builds the A2A v1.0 Agent Card for a running service: one `supportedInterfaces` entry per binding
 * (JSON-RPC first, the preferred one, then HTTP+JSON), at the URL the service really listens on.
 */
export function buildAgentCard(spec: AgentCardSpec, endpoints: CardEndpoints): AgentCard {
  const base = endpoints.baseUrl.replace(/\/+$/, '');
  const v1: AgentInterface[] = [
    { url: `${base}${JSONRPC_PATH}`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
    { url: `${base}${REST_PATH}`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
  ];
  // Only JSON-RPC gets a v0.3 twin: the SDK's v0.3 HTTP+JSON layer is Express-only (see README).
  const supportedInterfaces = endpoints.legacyCompat ? duplicateInterfacesForLegacy(v1, ['JSONRPC']) : v1;
  const securityRequirements = endpoints.bearerAuth ? [{ schemes: { [BEARER_SCHEME]: { list: [] } } }] : [];
  return {
    name: spec.name,
    description: spec.description,
    supportedInterfaces,
    provider: spec.provider,
    version: spec.version ?? '1.0.0',
    documentationUrl: spec.documentationUrl,
    capabilities: { streaming: true, pushNotifications: endpoints.pushNotifications ?? false, extensions: [], extendedAgentCard: false },
    securitySchemes: endpoints.bearerAuth
      ? {
          [BEARER_SCHEME]: {
            scheme: {
              $case: 'httpAuthSecurityScheme',
              value: { description: 'Static bearer token issued by the operator', scheme: 'Bearer', bearerFormat: '' },
            },
          },
        }
      : {},
    securityRequirements,
    defaultInputModes: spec.defaultInputModes ?? DEFAULT_MODES,
    defaultOutputModes: spec.defaultOutputModes ?? DEFAULT_MODES,
    skills: spec.skills.map(
      (skill): AgentSkill => ({
        id: skill.id,
        name: skill.name,
        description: skill.description,
        tags: skill.tags ?? [],
        examples: skill.examples ?? [],
        inputModes: skill.inputModes ?? [],
        outputModes: skill.outputModes ?? [],
        securityRequirements: [],
      }),
    ),
    signatures: [],
  };
}

/** The v1.0 wire form of a card (ProtoJSON: enums and oneofs as the spec spells them). */
export function agentCardToJson(card: AgentCard): Record<string, unknown> {
  return AgentCard.toJSON(card) as Record<string, unknown>;
}

/**
 * The v0.3 wire form, served to callers that send no `A2A-Version` header or ask for 0.3 (as the
 * SDK's own card handler does). v0.3 clients read `url`/`preferredTransport`; the v1.0 fields that do
 * not clash with v0.3 ones (`supportedInterfaces`, `securityRequirements`, and the v1.0 member of each
 * security scheme) ride along, so a v1.0 reader that fetched the card without the header (the TCK
 * does) still finds every endpoint and how to authenticate.
 *
 * `additionalInterfaces` repeats the primary `url`/`preferredTransport` pair, as the v0.3 spec asks
 * (§5.6.2: it SHOULD list every supported interface, the primary one included); v0.3 clients and the
 * v0.3 TCK build their transport list from it.
 */
export function toLegacyAgentCardJson(card: AgentCard): Record<string, unknown> {
  const legacyInterfaces = card.supportedInterfaces.filter((entry) => entry.protocolVersion.startsWith('0.'));
  const primary = legacyInterfaces[0];
  if (primary === undefined) {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'This agent declares no v0.3 interface', { wireCode: 'version_not_supported' });
  }
  const v1 = agentCardToJson(card);
  const v1Schemes = (v1['securitySchemes'] ?? {}) as Record<string, Record<string, unknown>>;
  const securitySchemes: Record<string, unknown> = {};
  for (const [name, scheme] of Object.entries(card.securitySchemes)) {
    if (scheme.scheme?.$case === 'httpAuthSecurityScheme') {
      const { scheme: httpScheme, description } = scheme.scheme.value;
      securitySchemes[name] = { type: 'http', scheme: httpScheme.toLowerCase(), description, ...v1Schemes[name] };
    }
  }
  return {
    name: card.name,
    description: card.description,
    version: card.version,
    url: primary.url,
    preferredTransport: primary.protocolBinding,
    protocolVersion: primary.protocolVersion,
    additionalInterfaces: legacyInterfaces.map((entry) => ({ url: entry.url, transport: entry.protocolBinding })),
    capabilities: { streaming: card.capabilities?.streaming ?? false, pushNotifications: card.capabilities?.pushNotifications ?? false },
    defaultInputModes: card.defaultInputModes,
    defaultOutputModes: card.defaultOutputModes,
    skills: card.skills.map((skill) => ({
      id: skill.id,
      name: skill.name,
      description: skill.description,
      tags: skill.tags,
      ...(skill.examples.length > 0 ? { examples: skill.examples } : {}),
    })),
    ...(card.provider === undefined ? {} : { provider: { organization: card.provider.organization, url: card.provider.url } }),
    ...(Object.keys(securitySchemes).length > 0
      ? {
          securitySchemes,
          security: card.securityRequirements.map((requirement) => Object.fromEntries(Object.keys(requirement.schemes).map((key) => [key, []]))),
          securityRequirements: v1['securityRequirements'],
        }
      : {}),
    supportedInterfaces: v1['supportedInterfaces'],
  };
}

/**
 * Reads a card as fetched from the wire, v1.0 or v0.3, into the SDK's v1.0 `AgentCard`. Throws an
 * `EnsembleError` (`upstream_error`) when the document is not an Agent Card at all.
 */
export function parseAgentCard(raw: unknown): AgentCard {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EnsembleError(ErrorCode.UpstreamError, 'Agent card is not a JSON object');
  }
  const card = isLegacyAgentCard(raw) ? parseLegacyAgentCard(raw) : AgentCard.fromJSON(raw);
  // A v0.3 card lists its primary interface twice (as `url` and, as its spec asks, in
  // `additionalInterfaces`): keep one entry per endpoint, in order.
  const seen = new Set<string>();
  card.supportedInterfaces = card.supportedInterfaces.filter((entry) => {
    const key = `${entry.protocolBinding} ${entry.protocolVersion} ${entry.url} ${entry.tenant}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (card.name === '' || card.supportedInterfaces.length === 0) {
    throw new EnsembleError(ErrorCode.UpstreamError, 'Agent card has no name or no endpoint (supportedInterfaces)');
  }
  return card;
}
