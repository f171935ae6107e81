import { Role } from '@a2a-js/sdk';
import { partsText } from '@ensemble/a2a';
import { type AgentContext, type AgentInput, type AgentRun } from '@ensemble/a2a/server';
import { countTokens } from '@ensemble/ingest';
import { type createLlmClient, fromOpenAIError, structuredCompletion } from '@ensemble/llm';
import { readChatConversation } from '@ensemble/openai-a2a';
import { EnsembleError, ErrorCode, RAG_SOURCES_ARTIFACT_NAME, messageText, type RagSourcesResult, type RetrievalRequest, RetrievalRequestData, type TokenUsage } from '@ensemble/protocol';
import { SpanKind, getTracer, inSpan, llmRequestAttributes, llmResponseAttributes, recordError } from '@ensemble/telemetry';
import { type Embedder, type SearchHit, type VectorStore, searchChunks } from '@ensemble/vectors';
import { z } from 'zod';

import { answerSystemPrompt, buildContext, citedIndexes, describeSources, relevantHits } from './context.js';
import { publishProgress } from './events.js';

export type LlmClient = ReturnType<typeof createLlmClient>;

export interface RagSettings {
  /** Model for the answer (and the query rewrite). */
  model: string;
  topK: number;
  /** Minimum cosine similarity for a chunk to count as relevant. */
  minScore: number;
  /** Token budget for the sources in the prompt. */
  contextTokens: number;
  queryRewrite: boolean;
  /** Also require a shared search term (full-text match): right for lexical embeddings, see `relevantHits`. */
  requireTextMatch: boolean;
}

export interface RagDeps {
  store: VectorStore;
  embedder: Embedder;
  llm: LlmClient;
  settings: RagSettings;
}

/** Said (without asking the model) when no chunk is relevant enough to answer from. */
export function nothingFoundAnswer(question: string): string {
  return `I found nothing in the knowledge base relevant to "${question}". Try rephrasing the question, or ingest documents that cover it.`;
}

const QueryRewrite = z.object({
  /** A standalone search query: the question with pronouns and follow-up references resolved. */
  query: z.string().min(1),
});
const REWRITE_SCHEMA_NAME = 'rag_query_rewrite';
/** Earlier turns shown to the rewrite, newest last; older ones rarely change what a follow-up means. */
const REWRITE_HISTORY_TURNS = 6;

/**
 * The RAG agent's run: question → (optional query rewrite) → hybrid search → relevant chunks within the
 * token budget → a streamed answer citing its sources as [1], [2]… → a `sources` data artifact. Progress
 * is published as reasoning events. When nothing relevant is found it says so and never asks the model,
 * so there is nothing to invent from.
 */
export function createRagRun(deps: RagDeps): AgentRun {
  const { settings } = deps;
  return async function* ragRun(input: AgentInput, ctx: AgentContext) {
    const request = retrievalRequest(input.data);
    const question = (request.query ?? input.text).trim();
    if (question === '') {
      throw new EnsembleError(ErrorCode.InvalidRequest, 'Ask a question: the message has no text (or set "retrieval.query" in a data part)');
    }

    let query = question;
    if (settings.queryRewrite) {
      publishProgress(ctx, 'rewriting', 'Rewriting the question as a standalone search query');
      query = await rewriteQuery(deps, question, input, ctx);
    }

    const topK = request.topK ?? settings.topK;
    const minScore = request.minScore ?? settings.minScore;
    publishProgress(ctx, 'retrieving', `Searching the knowledge base for "${query}"`, {
      query,
      top_k: topK,
      ...(request.filter === undefined ? {} : { filter: request.filter }),
      ...(request.documentIds === undefined ? {} : { document_ids: request.documentIds }),
    });
    const hits = await retrieve(deps, query, { topK, request, signal: ctx.signal });
    const relevant = relevantHits(hits, { minScore, requireTextMatch: settings.requireTextMatch });
    const context = buildContext(relevant, settings.contextTokens, countTokens);
    ctx.logger.info(
      { query, hits: hits.length, relevant: relevant.length, sources: context.sources.length, context_tokens: context.tokens, dropped: context.dropped },
      'retrieved',
    );

    if (context.sources.length === 0) {
      publishProgress(ctx, 'retrieved', `Found no relevant sources among ${hits.length} candidate${hits.length === 1 ? '' : 's'} (similarity threshold ${minScore})`, {
        sources: 0,
        hits: hits.length,
        min_score: minScore,
      });
      const result: RagSourcesResult = { query, found: false, sources: [] };
      ctx.dataArtifact(result, { name: RAG_SOURCES_ARTIFACT_NAME });
      return nothingFoundAnswer(question);
    }

    publishProgress(ctx, 'retrieved', `Found ${context.sources.length} relevant source${context.sources.length === 1 ? '' : 's'}`, {
      sources: context.sources.map((source) => ({ index: source.index, document: source.hit.documentId, title: source.hit.title, score: round(source.similarity) })),
      context_tokens: context.tokens,
      dropped: context.dropped,
    });
    publishProgress(ctx, 'answering', `Writing the answer from ${context.sources.length} source${context.sources.length === 1 ? '' : 's'}`, { model: settings.model });

    const messages = [
      { role: 'system' as const, content: answerSystemPrompt(context.sources) },
      { role: 'user' as const, content: question },
    ];
    let answer = '';
    let usage: TokenUsage | undefined;
    const span = getTracer('ensemble-rag').startSpan('llm.rag_answer', { kind: SpanKind.CLIENT, attributes: llmRequestAttributes({ model: settings.model, messages }) });
    try {
      const stream = await deps.llm.chat.completions.create(
        { model: settings.model, messages, stream: true, stream_options: { include_usage: true }, temperature: 0 },
        { signal: ctx.signal },
      );
      for await (const chunk of stream) {
        if (chunk.usage) usage = { prompt_tokens: chunk.usage.prompt_tokens, completion_tokens: chunk.usage.completion_tokens, total_tokens: chunk.usage.total_tokens };
        const delta = chunk.choices[0]?.delta.content ?? '';
        if (delta === '') continue;
        answer += delta;
        yield delta;
      }
      span.setAttributes(llmResponseAttributes({ content: answer, usage }));
      if (usage !== undefined) ctx.reportUsage(usage);
    } catch (error) {
      const failure = fromOpenAIError(error, 'Answer generation');
      recordError(span, failure);
      throw failure;
    } finally {
      span.end();
    }
    if (answer.trim() === '') throw new EnsembleError(ErrorCode.UpstreamError, `Model ${settings.model} returned an empty answer`);

    const cited = citedIndexes(answer, context.sources.length);
    if (cited.size === 0) ctx.logger.warn({ model: settings.model }, 'answer cites none of its sources');
    const result: RagSourcesResult = { query, found: true, sources: describeSources(context.sources, cited) };
    ctx.dataArtifact(result, { name: RAG_SOURCES_ARTIFACT_NAME });
    publishProgress(
      ctx,
      'answered',
      cited.size === 0 ? 'Answered without citing a source' : `Answered citing ${[...cited].sort((a, b) => a - b).map((index) => `[${index}]`).join(', ')}`,
      { cited: [...cited].sort((a, b) => a - b) },
      usage,
    );
    return undefined;
  };
}

/** The `retrieval` settings of the message's data parts (the last one wins); `{}` when there are none. */
function retrievalRequest(data: readonly Record<string, unknown>[]): RetrievalRequest {
  let request: RetrievalRequest = {};
  for (const item of data) {
    if (!('retrieval' in item)) continue;
    const parsed = RetrievalRequestData.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? 'retrieval' : issue.path.map(String).join('.');
      throw new EnsembleError(ErrorCode.InvalidRequest, `Invalid data part '${where}': ${issue?.message ?? 'does not match the retrieval request'}`, {
        details: { param: where },
      });
    }
    request = parsed.data.retrieval;
  }
  return request;
}

async function retrieve(
  deps: RagDeps,
  query: string,
  options: { topK: number; request: RetrievalRequest; signal: AbortSignal },
): Promise<SearchHit[]> {
  return inSpan(
    'rag.retrieve',
    { kind: SpanKind.INTERNAL, attributes: { 'openinference.span.kind': 'RETRIEVER', 'input.value': query, 'retrieval.top_k': options.topK } },
    async (span) => {
      const hits = await searchChunks({ store: deps.store, embedder: deps.embedder }, query, {
        k: options.topK,
        signal: options.signal,
        ...(options.request.filter === undefined ? {} : { filter: options.request.filter }),
        ...(options.request.documentIds === undefined ? {} : { documentIds: options.request.documentIds }),
      });
      hits.forEach((hit, index) => {
        span.setAttribute(`retrieval.documents.${index}.document.id`, hit.chunkId);
        span.setAttribute(`retrieval.documents.${index}.document.score`, hit.vector?.score ?? 0);
      });
      return hits;
    },
  );
}

/**
 * Turns a follow-up ("and how fast is it?") into a standalone query using the task's earlier turns. A
 * failed rewrite is not worth failing the question for: the original question is searched instead.
 */
async function rewriteQuery(deps: RagDeps, question: string, input: AgentInput, ctx: AgentContext): Promise<string> {
  // Earlier turns: an OpenAI conversation forwarded with the message (as Ensemble's gateway attaches it),
  // then this task's own history.
  const forwarded = readChatConversation(input.message)
    .messages.slice(0, -1)
    .filter((message) => message.role === 'user' || message.role === 'assistant')
    .map((message) => ({ role: message.role, text: messageText(message.content) }));
  const own = input.history.map((message) => ({ role: message.role === Role.ROLE_USER ? 'user' : 'assistant', text: partsText(message.parts) }));
  const turns = [...forwarded, ...own]
    .map((turn) => ({ role: turn.role, text: turn.text.replace(/\s+/g, ' ').trim() }))
    .filter((turn) => turn.text !== '' && turn.text !== question)
    .slice(-REWRITE_HISTORY_TURNS)
    .map((turn) => `${turn.role}: ${turn.text}`);
  try {
    const rewrite = await structuredCompletion(deps.llm, {
      model: deps.settings.model,
      schema: QueryRewrite,
      schemaName: REWRITE_SCHEMA_NAME,
      temperature: 0,
      signal: ctx.signal,
      onUsage: (usage) => ctx.reportUsage(usage),
      // The question alone is the user message; the earlier turns are context in the system message.
      messages: [
        {
          role: 'system',
          content:
            'Rewrite the user\'s question as one standalone search query for a document search engine: resolve pronouns and ' +
            'references to the earlier conversation, keep the key terms, drop pleasantries and instructions about the answer.' +
            (turns.length === 0 ? '' : `\n\nEarlier conversation:\n${turns.join('\n')}`),
        },
        { role: 'user', content: question },
      ],
    });
    return rewrite.query.trim() || question;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    ctx.logger.warn({ err: error }, 'query rewrite failed; searching with the question as asked');
    return question;
  }
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
