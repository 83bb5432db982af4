// `npm run email-connector`: the command line from its TypeScript sources, after checking that this Node can
// run them.
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { requireSupportedNode } from './node-version.mjs';

requireSupportedNode();
// The CLI runs itself only when it is the program being run (importing it must stay side-effect free): this
// launcher hands that role on.
const cli = new URL('../src/cli.ts', import.meta.url);
process.argv[1] = fileURLToPath(cli);
// No top-level await: an old Node must be able to parse this file to print the message above.
import(cli.href);
