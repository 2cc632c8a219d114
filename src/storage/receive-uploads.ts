import type { FileUpload } from 'graphql-upload-minimal';
import type { UploadLimits } from '../config.ts';
import { InvalidInputError } from '../db/errors.ts';
import { cutAtSizeLimit, type FileStore, type ReceivedFile } from './file-store.ts';
import { sanitizeFileName } from './sniff.ts';

/**
 * The upload's stream. The parser fails it up front when the whole file
 * already arrived past its size cap (a small cap), before we asked for it.
 */
function openUpload(upload: FileUpload) {
  try {
    return upload.createReadStream();
  } catch (error) {
    const fileName = sanitizeFileName(upload.filename);
    if ((error as { status?: number }).status === 413) {
      throw cutAtSizeLimit(fileName);
    }
    throw new InvalidInputError('files', `${fileName} could not be read from the request`);
  }
}

/**
 * Streams each upload of a request to a temporary file (hashed, sniffed,
 * size-checked against its kind's limit and the request's total), in order.
 * If one is refused or breaks off, the ones already received are discarded.
 */
export async function receiveUploads(store: FileStore, files: Promise<FileUpload>[], limits: UploadLimits): Promise<ReceivedFile[]> {
  const received: ReceivedFile[] = [];
  try {
    const budget = { remaining: limits.maxTotalBytes };
    for (const pending of files) {
      const upload = await pending.catch((error: Error) => {
        throw new InvalidInputError('files', `A file could not be read from the request: ${error.message}`);
      });
      received.push(await store.receive(openUpload(upload), upload.filename, limits, budget));
    }
    return received;
  } catch (error) {
    store.discard(received);
    throw error;
  }
}
