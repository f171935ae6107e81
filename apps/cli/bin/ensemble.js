#!/usr/bin/env node
// The `ensemble` command: runs the TypeScript source through tsx (no build step), like every service here.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
