// The parse pool's thread (parse-pool.ts): reads each message it is given with parseEmail and posts the result back.
import { parentPort } from 'node:worker_threads';
import { MessageParseError, parseEmail, type ParsedFields } from './parse-email.ts';

interface Request {
  id: number;
  raw: Uint8Array;
}

parentPort?.on('message', (request: Request) => {
  const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
  parseEmail(raw).then(
    (email) => {
      // Everything but the raw message (the caller has it) and its hash (computed there when asked for).
      const fields: ParsedFields = {
        messageId: email.messageId,
        from: email.from,
        sender: email.sender,
        replyTo: email.replyTo,
        to: email.to,
        cc: email.cc,
        bcc: email.bcc,
        subject: email.subject,
        date: email.date,
        text: email.text,
        html: email.html,
        attachments: email.attachments,
        inReplyTo: email.inReplyTo,
        references: email.references,
        headers: email.headers,
        contentType: email.contentType,
        problems: email.problems,
      };
      parentPort?.postMessage({ id: request.id, email: fields });
    },
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
