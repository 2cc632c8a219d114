import { builder } from './builder.ts';

export const AfterSaleTypeEnum = builder.enumType('AfterSaleType', {
  description: 'What the buyer asked for.',
  values: {
    REFUND_ONLY: { description: '仅退款: money back, the goods stay with the buyer.' },
    RETURN_AND_REFUND: { description: '退货退款: the buyer returns the goods for the money.' },
    EXCHANGE: { description: '换货: the buyer wants other goods instead.' },
  } as const,
});

export const AfterSaleStatusEnum = builder.enumType('AfterSaleStatus', {
  description: 'Where an escalated after-sale stands.',
  values: {
    PLATFORM_INTERVENING: { description: '平台介入: the platform handles it; no evidence round is open.' },
    AWAITING_MERCHANT_EVIDENCE: { description: '待商家举证: an evidence round is open and waiting for the merchant.' },
    EVIDENCE_SUBMITTED: { description: 'The merchant answered the newest round; the platform is reviewing.' },
    RESOLVED: { description: 'Decided, by the platform or by the system at a missed deadline. Final.' },
  } as const,
});

export const EvidenceRequestStatusEnum = builder.enumType('EvidenceRequestStatus', {
  description: 'The state of one evidence round.',
  values: {
    OPEN: { description: 'Waiting for the merchant; takes one submission before dueAt.' },
    SUBMITTED: { description: 'The merchant answered it.' },
    EXPIRED: { description: 'dueAt passed without an answer; the after-sale was decided for the buyer.' },
    CANCELLED: { description: 'The platform withdrew it, or ruled while it was open.' },
  } as const,
});

export const OutcomeEnum = builder.enumType('Outcome', {
  description: 'Whom the arbitration favoured.',
  values: {
    BUYER_FAVORED: { description: 'The buyer gets what it claimed.' },
    MERCHANT_FAVORED: { description: 'The buyer\'s claim is refused.' },
  } as const,
});

export const DecidedByEnum = builder.enumType('DecidedBy', {
  description: 'Who made the decision.',
  values: {
    SYSTEM_TIMEOUT: { description: 'The system, because the merchant sent no evidence before the deadline.' },
    PLATFORM: { description: 'A platform customer-service agent.' },
  } as const,
});

export const FileRejectionEnum = builder.enumType('FileRejection', {
  description: 'Why one uploaded file was refused.',
  values: {
    UNSUPPORTED_TYPE: { description: 'Its bytes are not JPEG, PNG, WebP, GIF, HEIC, PDF, MP4 or QuickTime, whatever its name says.' },
    TOO_LARGE: { description: 'Over its kind\'s limit: 10 MiB for images and PDF, 200 MiB for video (by default).' },
    EMPTY: { description: 'It has no bytes.' },
  } as const,
});

export const LogActorEnum = builder.enumType('LogActor', {
  description: 'Who did what a log line records.',
  values: {
    BUYER: { description: 'The buyer.' },
    MERCHANT: { description: 'The merchant\'s staff.' },
    PLATFORM: { description: 'Platform customer service or the upstream after-sales system.' },
    SYSTEM: { description: 'This service on its own, e.g. at a deadline.' },
  } as const,
});

export const LogActionEnum = builder.enumType('LogAction', {
  description: 'What a log line records.',
  values: {
    APPLIED: { description: 'The buyer applied for the after-sale.' },
    PLATFORM_INTERVENED: { description: 'The buyer escalated and the platform took it over.' },
    EVIDENCE_REQUESTED: { description: 'The platform opened an evidence round.' },
    EVIDENCE_REMINDER_SENT: { description: 'The merchant was warned that less than the reminder lead is left.' },
    EVIDENCE_SUBMITTED: { description: 'The merchant submitted evidence; the summary names each file\'s SHA-256.' },
    EVIDENCE_EXPIRED: { description: 'The round\'s deadline passed without evidence.' },
    EVIDENCE_REQUEST_CANCELLED: { description: 'The platform withdrew an open round.' },
    ARBITRATION_RESOLVED: { description: 'The after-sale was decided.' },
  } as const,
});

export const MessageKindEnum = builder.enumType('MessageKind', {
  description: 'What a message-box message is about.',
  values: {
    EVIDENCE_REQUESTED: { description: 'The platform asks for evidence.' },
    EVIDENCE_DUE_SOON: { description: 'Less than the reminder lead (12 hours by default) is left in a round.' },
    EVIDENCE_EXPIRED: { description: 'A round expired without evidence and the buyer was favoured.' },
    ARBITRATION_RESOLVED: { description: 'The platform ruled.' },
  } as const,
});
