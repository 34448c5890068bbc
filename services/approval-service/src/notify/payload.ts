// Request bodies per channel format. Pure: the notice in, the body out; the notifier sends it.
import type { ChannelFormat } from './channels.js';
import type { ApprovalNotice } from './notice.js';

/** Longest statement shown in a Slack message (Slack refuses a section over 3,000 characters). */
export const SLACK_STATEMENT_MAX = 2000;

/** The `type` of every JSON notification, so receivers can route on it. */
export const JSON_EVENT_TYPE = 'agentgate.approval.requested';

/** The receiver-facing JSON document (format `json`): the notice with its expiry as ISO 8601 (UTC). */
export type JsonNotification = { type: typeof JSON_EVENT_TYPE } & Omit<ApprovalNotice, 'expiresAtUs'> & { expiresAt: string };

export function expiresAtIso(notice: ApprovalNotice): string {
  return new Date(Math.floor(notice.expiresAtUs / 1000)).toISOString();
}

export function jsonNotification(notice: ApprovalNotice): JsonNotification {
  return {
    type: JSON_EVENT_TYPE,
    approvalId: notice.approvalId,
    url: notice.url,
    requester: notice.requester,
    actChain: [...notice.actChain],
    connection: notice.connection,
    text: notice.text,
    ruleId: notice.ruleId,
    reason: notice.reason,
    expiresAt: expiresAtIso(notice),
    approverGroups: [...notice.approverGroups],
  };
}

/** Slack's three control characters in mrkdwn text (their escaping rules). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A statement for a Slack code block: at most `max` characters once escaped (so a statement
 * of `<` cannot grow past Slack's section limit), and no ``` that would end the block early.
 */
export function slackStatement(text: string, max = SLACK_STATEMENT_MAX): string {
  const chars = [...text];
  let out = '';
  let shown = 0;
  for (const c of chars) {
    // A zero-width space after a backtick that another follows keeps ``` from closing the block.
    const piece = slackEscape(c);
    if (out.length + piece.length > max) break;
    out += piece;
    shown++;
  }
  out = out.replace(/`(?=`)/g, '`\u200b');
  return shown < chars.length ? `${out}\n… (${chars.length - shown} more characters)` : out;
}

/** "dba-agent acting for alice (via planner)": the current actor first, as in the chain. */
export function requesterLine(notice: ApprovalNotice): string {
  const [current, ...earlier] = notice.actChain;
  if (current === undefined) return notice.requester;
  const via = earlier.length > 0 ? ` (via ${earlier.join(', ')})` : '';
  return `${current} acting for ${notice.requester}${via}`;
}

/** A link target Slack will not cut at `|` or `>`. */
function slackLinkTarget(url: string): string {
  return url.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E');
}

/** A Slack incoming-webhook message: `text` is the notification fallback, `blocks` the message. */
export function slackMessage(notice: ApprovalNotice): { text: string; blocks: unknown[] } {
  const expiresSec = Math.floor(notice.expiresAtUs / 1_000_000);
  const connection = notice.connection ?? '(none)';
  const who = slackEscape(requesterLine(notice));
  const summary =
    `*Approval requested* by ${who}\n` +
    `*Connection:* ${slackEscape(connection)}\n` +
    `*Rule:* ${slackEscape(notice.ruleId)}: ${slackEscape(notice.reason)}\n` +
    `*Approvers:* ${slackEscape(notice.approverGroups.join(', ') || '(any)')}\n` +
    // Slack renders <!date^...> in the reader's time zone; the ISO text is the fallback.
    `*Expires:* <!date^${expiresSec}^{date_short_pretty} {time}|${expiresAtIso(notice)}>`;
  return {
    text: `Approval requested by ${who} on ${slackEscape(connection)} (rule ${slackEscape(notice.ruleId)})`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: summary } },
      { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${slackStatement(notice.text)}\`\`\`` } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `<${slackLinkTarget(notice.url)}|Review, approve or deny> (${slackEscape(notice.approvalId)})` },
      },
    ],
  };
}

/** The raw request body for a channel format (what is signed and sent). */
export function renderBody(format: ChannelFormat, notice: ApprovalNotice): string {
  switch (format) {
    case 'slack':
      return JSON.stringify(slackMessage(notice));
    case 'json':
      return JSON.stringify(jsonNotification(notice));
    default: {
      const never: never = format;
      throw new Error(`unknown channel format ${String(never)}`);
    }
  }
}
