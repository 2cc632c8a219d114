import { fileTypeFromBuffer } from 'file-type';

export type FileKind = 'document' | 'video';

/** What the service accepts, by the type sniffed from the bytes. */
const ACCEPTED: Record<string, FileKind> = {
  'image/jpeg': 'document',
  'image/png': 'document',
  'image/webp': 'document',
  'image/gif': 'document',
  'image/heic': 'document',
  'image/heif': 'document',
  'application/pdf': 'document',
  'video/mp4': 'video',
  'video/quicktime': 'video',
};

/** Bytes the sniffer needs to decide: file-type's own minimum. */
export const SNIFF_BYTES = 4100;

/** The accepted content type of a file's first bytes, or null if it is not one we take. */
export async function sniff(head: Uint8Array): Promise<{ contentType: string; kind: FileKind } | null> {
  const found = await fileTypeFromBuffer(head);
  if (!found) return null;
  const kind = ACCEPTED[found.mime];
  return kind ? { contentType: found.mime, kind } : null;
}

// Controls, bidi overrides and isolates, and characters no file system likes.
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069<>:"|?*]/gu;

/**
 * A file name fit to show and to send back in Content-Disposition: no path
 * parts, no control or bidi characters, at most 255 characters. Never used as
 * a path: files are stored by their hash.
 */
export function sanitizeFileName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  let name = base.replace(UNSAFE, '').replace(/\s+/g, ' ').trim().replace(/^\.+/, '');
  const chars = [...name];
  if (chars.length > 255) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = chars.slice(0, 255 - [...ext].length).join('') + ext;
  }
  return name || 'file';
}
