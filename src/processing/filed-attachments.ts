import type { CrmRecords } from '../crm/crm-store.ts';
import type { FiledDocument } from '../domain/crm.ts';
import { attachmentContent } from './parse-email.ts';

/**
 * The bytes of a filed document's `index`-th attachment: read again from the filed raw MIME, where they are
 * stored once, or from the row of an attachment filed before that. Null when they cannot be found; an
 * attachment whose bytes read back at another size than was filed is refused rather than given out wrong.
 */
export async function readFiledAttachment(
  store: Pick<CrmRecords, 'readDocumentRaw' | 'readStoredAttachment'>,
  document: Pick<FiledDocument, 'id' | 'attachments'>,
  index: number,
): Promise<Buffer | null> {
  const attachment = document.attachments[index];
  if (!attachment) return null;
  if (attachment.position === null) return store.readStoredAttachment(document.id, index);
  const raw = await store.readDocumentRaw(document.id);
  if (!raw) return null;
  const content = await attachmentContent(raw, attachment.position);
  if (content && content.length !== attachment.size)
    throw new Error(
      `attachment ${index + 1} of document ${document.id} reads back as ${content.length} bytes, filed as ${attachment.size}`,
    );
  return content;
}
