export { CHUNKER_VERSION, DEFAULT_CHUNKING, chunkDocument, resolveChunking } from './chunker.js';
export type { ChunkingOptions } from './chunker.js';
export { SUPPORTED_EXTENSIONS, formatOf, loadDocument } from './loaders/index.js';
export { documentIdOf, expandPaths, ingest, ingestPaths } from './ingest.js';
export type {
  IngestDeps,
  IngestFileStatus,
  IngestOptions,
  IngestPathsOptions,
  IngestProgress,
  IngestSource,
  IngestSummary,
  SkippedFile,
} from './ingest.js';
export { countTokens } from './tokens.js';
export type { Block, Chunk, ChunkLocation, DocumentFormat, LoadedDocument, Section } from './types.js';
