// Webhook notifications of approval requests: the channels file, the notifier, and what a
// receiver needs to check a signature.
export {
  loadChannels,
  parseChannels,
  ChannelSecret,
  CHANNEL_NAME,
  type Channel,
  type ChannelFormat,
  type ChannelSet,
  type ParseOptions,
} from './channels.js';
export { createNotifier, type ApprovalNotice, type Notifier, type NotifierDeps } from './notifier.js';
export { jsonNotification, renderBody, slackMessage, JSON_EVENT_TYPE, type JsonNotification } from './payload.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { computeSignature, signatureHeaders, verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature.js';
