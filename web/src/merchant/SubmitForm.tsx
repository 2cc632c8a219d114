import { useEffect, useRef, useState } from 'preact/hooks';
import { uploadMutation } from '../lib/upload.ts';
import { Both, formatBytes, L } from '../lib/text.tsx';
import { SubmitEvidenceMutation } from './operations.ts';

interface Picked {
  key: string;
  file: File;
  preview: string | null;
}

const REASONS: Record<string, string> = {
  UNSUPPORTED_TYPE: '不支持的文件类型 · Not an accepted file type',
  TOO_LARGE: '文件过大 · The file is too large',
  EMPTY: '空文件 · The file is empty',
};

const randomKey = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

/** The answer to an open round: explanation and files, uploaded with a progress bar per file. */
export function SubmitForm({ requestId, token, onSubmitted }: { requestId: string; token: string; onSubmitted: () => void }) {
  const [explanation, setExplanation] = useState('');
  const [picked, setPicked] = useState<Picked[]>([]);
  const [progress, setProgress] = useState<number[] | null>(null);
  const [fieldError, setFieldError] = useState<{ field: string; message: string } | null>(null);
  const [fileError, setFileError] = useState<{ fileName: string; message: string; reason: string } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<(() => void) | null>(null);

  useEffect(() => () => abort.current?.(), []);
  useEffect(() => () => picked.forEach((p) => p.preview && URL.revokeObjectURL(p.preview)), []);

  const add = (files: FileList | null) => {
    if (!files) return;
    const added = Array.from(files, (file) => ({
      key: randomKey(),
      file,
      preview: file.type.startsWith('image/') ? URL.createObjectURL(file) : null,
    }));
    setPicked((list) => [...list, ...added]);
    setFileError(null);
    if (fieldError?.field === 'files') setFieldError(null);
  };
  const remove = (key: string) =>
    setPicked((list) => {
      const gone = list.find((p) => p.key === key);
      if (gone?.preview) URL.revokeObjectURL(gone.preview);
      return list.filter((p) => p.key !== key);
    });

  async function submit(event: Event) {
    event.preventDefault();
    setFieldError(null);
    setFileError(null);
    setFormError(null);
    const files = picked.map((p) => p.file);
    setProgress(files.map(() => 0));
    const upload = uploadMutation({
      token,
      document: SubmitEvidenceMutation,
      variables: { input: { evidenceRequestId: requestId, explanation, files, idempotencyKey: randomKey() } },
      files,
      onProgress: (p) => setProgress(p.files),
    });
    abort.current = upload.abort;
    try {
      const answer = await upload.result;
      const result = answer.data?.submitEvidence;
      if (!result) {
        setFormError(answer.errors?.[0]?.message ?? '提交失败 · The submission failed');
      } else if (result.__typename === 'SubmitEvidencePayload') {
        setDone(true);
        onSubmitted();
      } else if (result.__typename === 'FileRejectedError') {
        setFileError({ fileName: result.fileName, message: result.message, reason: result.reason });
      } else if (result.__typename === 'InvalidInputError') {
        setFieldError({ field: result.field, message: result.message });
      } else {
        setFormError(result.message);
      }
    } catch (error) {
      if ((error as Error).message !== 'aborted') setFormError(`网络错误 · The upload failed (${(error as Error).message}); try again`);
    } finally {
      abort.current = null;
      setProgress(null);
    }
  }

  if (done) {
    return (
      <p class="success" role="status">
        <Both zh="举证已提交" en="Evidence submitted." />
      </p>
    );
  }
  const uploading = progress !== null;
  const rejectedHere = (name: string) => fileError && fileError.fileName === name;
  const unplaced = fileError && !picked.some((p) => rejectedHere(p.file.name));
  return (
    <form class="submit-form" aria-labelledby="submit-title" onSubmit={submit} noValidate>
      <h4 id="submit-title">
        <L zh="提交举证" en="Your evidence" />
      </h4>
      {formError && (
        <p role="alert" class="error">
          {formError}
        </p>
      )}
      <label for="explanation">
        <L zh="拒绝说明" en="Explanation" />
      </label>
      <textarea
        id="explanation"
        aria-label="Explanation"
        rows={4}
        maxLength={2000}
        value={explanation}
        aria-invalid={fieldError?.field === 'explanation'}
        aria-describedby={fieldError?.field === 'explanation' ? 'explanation-error' : undefined}
        onInput={(e) => setExplanation(e.currentTarget.value)}
        disabled={uploading}
      />
      {fieldError?.field === 'explanation' && (
        <p id="explanation-error" role="alert" class="error">
          {fieldError.message}
        </p>
      )}
      <div
        class={`dropzone ${dragging ? 'dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          if (!uploading) add(e.dataTransfer?.files ?? null);
        }}
      >
        <label for="evidence-files" class="dropzone-label">
          <L zh="证据文件" en="Evidence files" />
        </label>
        <p class="hint">
          <Both zh="点击选择或拖放到此处：图片、PDF（每个 10 MiB 内），视频（200 MiB 内），最多 9 个" en="Choose or drop images, PDF (10 MiB each), videos (200 MiB each); up to 9" />
        </p>
        <input
          ref={input}
          id="evidence-files"
          aria-label="Evidence files"
          type="file"
          multiple
          accept="image/jpeg,image/png,image/webp,image/gif,image/heic,.heic,application/pdf,video/mp4,video/quicktime"
          disabled={uploading}
          aria-invalid={fieldError?.field === 'files'}
          onChange={(e) => {
            add(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
      </div>
      {fieldError?.field === 'files' && (
        <p role="alert" class="error">
          {fieldError.message}
        </p>
      )}
      {unplaced && (
        <p role="alert" class="error">
          {fileError.fileName}: {REASONS[fileError.reason] ?? fileError.message}
        </p>
      )}
      {picked.length > 0 && (
        <ul class="picked" aria-label="Picked files">
          {picked.map((p, i) => (
            <li key={p.key} class={rejectedHere(p.file.name) ? 'rejected' : ''}>
              {p.preview ? <img src={p.preview} alt="" class="thumb" /> : <span class="thumb file-icon" aria-hidden="true">{p.file.name.split('.').pop()?.slice(0, 4).toUpperCase() || 'FILE'}</span>}
              <span class="picked-name">{p.file.name}</span>
              <span class="hint">{formatBytes(p.file.size)}</span>
              {uploading ? (
                <progress max={1} value={progress[i] ?? 0} aria-label={`Uploading ${p.file.name}`} />
              ) : (
                <button type="button" class="quiet small" onClick={() => remove(p.key)} aria-label={`Remove ${p.file.name}`}>
                  ✕
                </button>
              )}
              {rejectedHere(p.file.name) && (
                <p role="alert" class="error file-error">
                  {p.file.name}: {REASONS[fileError!.reason] ?? fileError!.message}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
      <button type="submit" class="primary" disabled={uploading}>
        {uploading ? <L zh="上传中…" en="Submit evidence" /> : <L zh="提交举证" en="Submit evidence" />}
      </button>
    </form>
  );
}

