// The parse pool's thread (parse-pool.ts): reads each message it is given with parseFields and posts the result back.
import { parentPort } from 'node:worker_threads';
import { MessageParseError, parseFields } from './parse-email.ts';

interface Request {
  id: number;
  raw: Uint8Array;
}

parentPort?.on('message', (request: Request) => {
  const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
  // Everything but the raw message (the caller has it) and its hash (computed there when asked for).
  parseFields(raw).then(
    (email) => parentPort?.postMessage({ id: request.id, email }),
    (error: unknown) => {
      parentPort?.postMessage({
        id: request.id,
        error: {
          parse: error instanceof MessageParseError,
          message: error instanceof Error ? error.message : String(error),
        },
      });
    },
  );
});
