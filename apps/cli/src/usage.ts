export const USAGE = `Usage: ensemble <command> [options]

Commands:
  ingest <paths or globs...>   Load, chunk, embed and store documents (Markdown, text, HTML, PDF).
                               Directories are searched recursively. Re-running skips unchanged files.
      --reindex                Delete every stored chunk first and embed everything again (needed after
                               changing EMBEDDING_MODEL or EMBEDDING_DIMENSION).
      --prune                  Also delete stored documents whose files are no longer in the directories
                               named (deleted, renamed). Globs and single files are not pruned.
      --max-tokens <n>         Chunk size limit in tokens (default 350).
      --overlap <n>            Tokens shared by consecutive chunks of a section (default 50).
      --root <dir>             Corpus root: document ids are paths relative to it (default: current dir).
      --json                   Print the summary as JSON.
  search <query>               Search the stored chunks.
      -k <n>                   Number of results (default 5).
      --mode <mode>            hybrid (default), vector or text.
      --json                   Print the hits as JSON.
  stats                        Documents and chunks stored, and the embedding model.

Database: DATABASE_URL (PostgreSQL with pgvector), else EMBEDDED_PG_URL, else the embedded server that
holds EMBEDDED_PG_DATA_DIR (default .data/pglite), else that directory is opened in this process.
Embeddings: EMBEDDING_MODEL (default lexical, offline), EMBEDDING_DIMENSION, EMBEDDING_BASE_URL, OPENAI_API_KEY.
`;
