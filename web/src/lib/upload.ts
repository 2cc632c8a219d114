import { stringifyDocument } from '@urql/core';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

export interface UploadProgress {
  /** 0..1 for each file, in order, estimated from the bytes sent so far. */
  files: number[];
}

/**
 * A GraphQL multipart request (the spec graphql-upload speaks) sent with
 * XMLHttpRequest, the one browser API that reports upload progress. Files go
 * in `variables.input.files`, in order; they travel in the body in that order,
 * so the bytes sent so far tell how far each file is.
 */
export function uploadMutation<R, V extends { input: { files: unknown } }>(options: {
  token: string;
  document: TypedDocumentNode<R, V>;
  variables: V;
  files: File[];
  onProgress: (progress: UploadProgress) => void;
}): { result: Promise<{ data?: R; errors?: { message: string }[] }>; abort(): void } {
  const { token, document, variables, files, onProgress } = options;
  const form = new FormData();
  const operations = { query: stringifyDocument(document), variables: { ...variables, input: { ...variables.input, files: files.map(() => null) } } };
  form.append('operations', JSON.stringify(operations));
  form.append('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i), [`variables.input.files.${i}`]]))));
  files.forEach((file, i) => form.append(String(i), file, file.name));

  const sizes = files.map((f) => f.size);
  const totalFiles = sizes.reduce((a, b) => a + b, 0);
  const xhr = new XMLHttpRequest();
  const result = new Promise<{ data?: R; errors?: { message: string }[] }>((resolve, reject) => {
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      const sent = (event.loaded / event.total) * totalFiles;
      let offset = 0;
      onProgress({
        files: sizes.map((size) => {
          const done = size === 0 ? (sent >= offset ? 1 : 0) : Math.min(1, Math.max(0, (sent - offset) / size));
          offset += size;
          return done;
        }),
      });
    };
    xhr.onload = () => {
      try {
        resolve(JSON.parse(xhr.responseText));
      } catch {
        reject(new Error(`HTTP ${xhr.status}`));
      }
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.onabort = () => reject(new Error('aborted'));
  });
  xhr.open('POST', '/graphql');
  xhr.setRequestHeader('authorization', `Bearer ${token}`);
  xhr.setRequestHeader('apollo-require-preflight', 'true');
  xhr.setRequestHeader('accept', 'application/graphql-response+json, application/json');
  xhr.send(form);
  return { result, abort: () => xhr.abort() };
}
