import type { ComponentChildren } from 'preact';
import { formatBytes, formatTime, Named } from './text.tsx';

export interface FileView {
  id: string;
  fileName: string;
  contentType: string;
  byteSize: number;
  url: string;
}

/**
 * Submitted evidence through its signed links: images shown, videos played
 * (the links answer Range requests, so the player seeks), anything else linked.
 */
export function EvidenceFiles({ files }: { files: FileView[] }) {
  return (
    <ul class="evidence-files">
      {files.map((file) => (
        <li key={file.id} class="evidence-file">
          {file.contentType.startsWith('image/') && file.contentType !== 'image/heic' ? (
            <img src={file.url} alt={file.fileName} loading="lazy" />
          ) : file.contentType.startsWith('video/') ? (
            <video src={file.url} controls preload="metadata" aria-label={file.fileName} />
          ) : null}
          <a href={file.url} download={file.fileName}>
            {file.fileName}
          </a>{' '}
          <span class="hint">
            {file.contentType} · {formatBytes(file.byteSize)}
          </span>
        </li>
      ))}
    </ul>
  );
}

export interface RoundView {
  status: string;
  instructions: string;
  submission: { explanation: string; files: FileView[] } | null;
}

/** One evidence round in a list: its status, then the times as each app shows them (children), its instructions and evidence. */
export function RoundItem({ round, children }: { round: RoundView; children: ComponentChildren }) {
  return (
    <li class="round">
      <p class="round-line">
        <span class={`status status-${round.status}`}><Named value={round.status} /></span>
        {children}
      </p>
      <p class="instructions">{round.instructions}</p>
      {round.submission && (
        <div class="submission">
          <p>{round.submission.explanation}</p>
          <EvidenceFiles files={round.submission.files} />
        </div>
      )}
    </li>
  );
}

export function LogList({ logs }: { logs: { id: string; at: string; actor: string; action: string; summary: string }[] }) {
  return (
    <ol class="log">
      {logs.map((log) => (
        <li key={log.id}>
          <time dateTime={log.at}>{formatTime(log.at)}</time>{' '}
          <span class={`actor actor-${log.actor}`}>
            <Named value={log.actor} />
          </span>{' '}
          <span class="summary">{log.summary}</span>
        </li>
      ))}
    </ol>
  );
}
