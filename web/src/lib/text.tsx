import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * Chinese first, English beside. The English words are the accessible name
 * (the contract's labels, which outside tests and screen readers use); the
 * Chinese is shown beside them.
 */
export function L({ zh, en }: { zh: string; en: string }) {
  return (
    <>
      <span class="zh" aria-hidden="true">
        {zh}
      </span>{' '}
      <span class="en" lang="en">
        {en}
      </span>
    </>
  );
}

/** Both languages, both read aloud: for explanations rather than names. */
export function Both({ zh, en }: { zh: string; en: ComponentChildren }) {
  return (
    <>
      <span class="zh">{zh}</span> <span class="en" lang="en">{en}</span>
    </>
  );
}

export const TYPE_NAMES: Record<string, [string, string]> = {
  REFUND_ONLY: ['仅退款', 'Refund only'],
  RETURN_AND_REFUND: ['退货退款', 'Return and refund'],
  EXCHANGE: ['换货', 'Exchange'],
};

export const STATUS_NAMES: Record<string, [string, string]> = {
  PLATFORM_INTERVENING: ['平台介入中', 'Platform intervening'],
  AWAITING_MERCHANT_EVIDENCE: ['待商家举证', 'Awaiting evidence'],
  EVIDENCE_SUBMITTED: ['已举证', 'Evidence submitted'],
  RESOLVED: ['已裁决', 'Resolved'],
  OPEN: ['举证中', 'Open'],
  SUBMITTED: ['已提交', 'Submitted'],
  EXPIRED: ['已超时', 'Expired'],
  CANCELLED: ['已撤销', 'Cancelled'],
  BUYER_FAVORED: ['支持买家', 'Buyer favored'],
  MERCHANT_FAVORED: ['支持商家', 'Merchant favored'],
  SYSTEM_TIMEOUT: ['超时系统判定', 'System timeout'],
  PLATFORM: ['平台', 'Platform'],
  BUYER: ['买家', 'Buyer'],
  MERCHANT: ['商家', 'Merchant'],
  SYSTEM: ['系统', 'System'],
};

export function Named({ value, table = STATUS_NAMES }: { value: string; table?: Record<string, [string, string]> }) {
  const [zh, en] = table[value] ?? [value, value];
  return <Both zh={zh} en={en} />;
}

export const yuan = (cents: number) => `¥${(cents / 100).toFixed(2)}`;

export function formatTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The current time, ticking once a second while mounted. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** hh:mm:ss (with days in front past 24 h) until a deadline; 00:00:00 once past. */
export function countdown(deadline: number, now: number): string {
  const total = Math.max(0, Math.floor((deadline - now) / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days ? `${days}d ${clock}` : clock;
}

/**
 * The deadline as this browser's clock sees it: the server's secondsRemaining
 * from when the answer arrived, so a wrong clock on the device does not skew it.
 */
export const deadlineFrom = (secondsRemaining: number, receivedAt: number) => receivedAt + secondsRemaining * 1000;
