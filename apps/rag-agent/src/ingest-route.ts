import { createHash } from 'node:crypto';
import { basename } from 'node:path';

import { type DocumentFormat, type IngestSource, SUPPORTED_EXTENSIONS, formatOf, ingest } from '@ensemble/ingest';
import {
  EnsembleError,
  ErrorCode,
  IngestDocument,
  type IngestDocumentResult,
  IngestRequest,
  type IngestResponse,
} from '@ensemble/protocol';
import { type ServiceEnv, bearerAuth, readJsonBody } from '@ensemble/service';
import type { Embedder, VectorStore } from '@ensemble/vectors';
import type { Context, Hono } from 'hono';


export const INGEST_PATH = '/v1/ingest';

export interface IngestRouteDeps {
  store: VectorStore;
  embedder: Embedder;
  /** Bearer tokens accepted; empty = no auth (as on the A2A endpoints). */
  authTokens: readonly string[];
}

/** A document read from the request, ready for `ingest()`, or the reason it cannot be. */
type Prepared =
  | { index: number; source: IngestSource }
  | { index: number; id: string | undefined; skipped: string };

const CONTENT_TYPES: Record<string, DocumentFormat> = {
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/plain': 'text',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'application/pdf': 'pdf',
};

/**
 * `POST /v1/ingest`: adds documents to the knowledge base, as JSON (`{ documents: [...] }`, see
 * `IngestRequest`) or as `multipart/form-data` file uploads (every file field is a document; an optional
 * `metadata` field holds a JSON object stored with each). Idempotent by content hash: re-sending a
 * document changes nothing. Each document gets its own result; a bad one (unsupported type, no text, a
 * broken PDF, invalid fields) is reported as `skipped` with the reason and the others go on. Only a
 * malformed request as a whole is refused (400), with an OpenAI-style error object.
 */
export function mountIngestRoute(app: Hono<ServiceEnv>, deps: IngestRouteDeps): void {
  app.post(INGEST_PATH, bearerAuth(deps.authTokens), async (c) => {
    const started = performance.now();
    const prepared = isMultipart(c) ? await fromMultipart(c) : fromJson(await readJsonBody(c, IngestRequest));

    const results: IngestDocumentResult[] = [];
    const ready: { index: number; source: IngestSource }[] = [];
    const seen = new Set<string>();
    for (const item of prepared) {
      if ('skipped' in item) {
        results.push({ index: item.index, ...(item.id === undefined ? {} : { id: item.id }), status: 'skipped', chunks: 0, reason: item.skipped });
      } else if (seen.has(item.source.id)) {
        results.push({ index: item.index, id: item.source.id, status: 'skipped', chunks: 0, reason: 'duplicate id: an earlier document of this request has the same id' });
      } else {
        seen.add(item.source.id);
        ready.push(item);
      }
    }

    const byId = new Map(ready.map((item) => [item.source.id, item.index]));
    const summary = await ingest(
      ready.map((item) => item.source),
      { store: deps.store, embedder: deps.embedder },
      {
        signal: c.req.raw.signal,
        onProgress: (progress) => {
          results.push({
            index: byId.get(progress.id) ?? -1,
            id: progress.id,
            status: progress.status,
            chunks: progress.chunks,
            ...(progress.reason === undefined ? {} : { reason: progress.reason }),
          });
        },
      },
    );
    results.sort((a, b) => a.index - b.index);

    const skipped = results.filter((result) => result.status === 'skipped');
    const logger = c.var.logger;
    for (const result of skipped) logger.warn({ document: result.id ?? `#${result.index}`, reason: result.reason }, 'ingest skipped a document');
    const body: IngestResponse = {
      documents: results,
      summary: {
        received: prepared.length,
        added: summary.added,
        updated: summary.updated,
        unchanged: summary.unchanged,
        skipped: skipped.length,
        chunksAdded: summary.chunksAdded,
        durationMs: Math.round(performance.now() - started),
      },
    };
    logger.info({ ...body.summary, principal: c.var.principal }, 'ingested');
    return c.json(body);
  });
}

function isMultipart(c: Context): boolean {
  return c.req.header('content-type')?.toLowerCase().startsWith('multipart/form-data') === true;
}

function fromJson(request: IngestRequest): Prepared[] {
  return request.documents.map((raw, index): Prepared => {
    const rawId = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'string' ? raw.id : undefined;
    const parsed = IngestDocument.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue === undefined || issue.path.length === 0 ? '' : ` '${issue.path.map(String).join('.')}'`;
      return { index, id: rawId, skipped: `invalid document${field}: ${issue?.message ?? 'does not match the schema'}` };
    }
    const document = parsed.data;
    let bytes: Uint8Array;
    if (document.text === undefined) {
      const base64 = (document.base64 ?? '').replace(/\s+/g, '');
      if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(base64)) {
        return { index, id: document.id, skipped: "'base64' is not valid base64" };
      }
      bytes = Buffer.from(base64, 'base64');
    } else {
      bytes = Buffer.from(document.text, 'utf8');
    }
    const id = document.id ?? document.source ?? `upload/${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
    const format = formatFor(document.contentType, [id, document.source], document.text !== undefined);
    if (typeof format !== 'string') return { index, id, skipped: format.reason };
    return {
      index,
      source: {
        id,
        source: document.source ?? id,
        ...(document.title === undefined ? {} : { title: document.title }),
        format,
        ...(document.metadata === undefined ? {} : { metadata: document.metadata }),
        read: async () => bytes,
      },
    };
  });
}

async function fromMultipart(c: Context): Promise<Prepared[]> {
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch (error) {
    throw new EnsembleError(ErrorCode.InvalidRequest, `Request body is not valid multipart/form-data: ${error instanceof Error ? error.message : String(error)}`, {
      wireCode: 'invalid_request_body',
    });
  }
  const metadata = readMetadataField(form['metadata']);
  const files: File[] = [];
  for (const [field, value] of Object.entries(form)) {
    if (field === 'metadata') continue;
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) if (item instanceof File) files.push(item);
  }
  if (files.length === 0) {
    throw new EnsembleError(ErrorCode.InvalidRequest, 'No files in the upload: send each document as a file field of the multipart form', {
      wireCode: 'invalid_request_body',
    });
  }
  return files.map((file, index): Prepared => {
    // A browser may send a path; only the file name is a stable, meaningful id.
    const id = basename(file.name.replace(/\\/g, '/')) || `upload-${index}`;
    const format = formatFor(file.type === '' ? undefined : file.type, [id], false);
    if (typeof format !== 'string') return { index, id, skipped: format.reason };
    return {
      index,
      source: { id, source: id, format, ...(metadata === undefined ? {} : { metadata }), read: async () => new Uint8Array(await file.arrayBuffer()) },
    };
  });
}

function readMetadataField(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = typeof value === 'string' ? JSON.parse(value) : undefined;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new EnsembleError(ErrorCode.InvalidRequest, "The 'metadata' form field must be a JSON object", { details: { param: 'metadata' }, wireCode: 'invalid_request_body' });
  }
  return parsed as Record<string, unknown>;
}

/**
 * The parser for a document: its content type when given (parameters such as `charset` ignored), else the
 * extension of its id or source, else plain text for `text` content. Generic binary types
 * (`application/octet-stream`) defer to the extension.
 */
function formatFor(contentType: string | undefined, names: readonly (string | undefined)[], isText: boolean): DocumentFormat | { reason: string } {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== undefined && type !== 'application/octet-stream') {
    const format = CONTENT_TYPES[type];
    return format ?? { reason: `unsupported content type "${type}" (supported: ${Object.keys(CONTENT_TYPES).join(', ')})` };
  }
  for (const name of names) {
    const format = name === undefined ? undefined : formatOf(name);
    if (format !== undefined) return format;
  }
  if (isText) return 'text';
  return { reason: `unknown document type: set "contentType" or use a file name ending in ${SUPPORTED_EXTENSIONS.join(' ')}` };
}
