// `npm start`: the service from its TypeScript sources, after checking that this Node can run them.
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();
// No top-level await: an old Node must be able to parse this file to print the check's message.
import('../src/main.ts');
