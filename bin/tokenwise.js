#!/usr/bin/env node
// Runs the TypeScript command-line entry through tsx, so the backend needs no
// build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli.ts');
