import { describe, expect, it } from 'vitest';

import { assignToolNames } from './tool-names.js';

describe('assignToolNames', () => {
  it('keeps unique names, namespaces collisions, and stays within OpenAI limits', () => {
    const long = 'x'.repeat(70);
    const named = assignToolNames([
      { server: 'a', serverToolName: 'search' },
      { server: 'b', serverToolName: 'search' },
      { server: 'a', serverToolName: 'read.file' },
      { server: 'a', serverToolName: long },
      { server: 'b', serverToolName: long },
      { server: 'c', serverToolName: 'read_file' },
    ]);
    expect(named.map((tool) => tool.name)).toEqual([
      'a__search',
      'b__search',
      'read_file',
      `a__${'x'.repeat(61)}`,
      `b__${'x'.repeat(61)}`,
      'read_file_2', // "read.file" sanitized to the same name: a suffix keeps them apart
    ]);
    for (const tool of named) expect(tool.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});
