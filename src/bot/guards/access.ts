import { fail, ok, type Result } from '../result.ts';
import type { BotRequest } from '../types.ts';

export interface AccessConfig {
  /** User ids that bypass rate limits and may run admin-only commands. */
  admins: string[];
  /** When not empty, only these users may ask. */
  allowUsers: string[];
  blockUsers: string[];
  /** When not empty, the bot answers only in these channels. */
  allowChannels: string[];
  blockChannels: string[];
  /** Discord role ids or Slack user group ids: when not empty, members of these may ask (beside allowUsers). */
  allowRoles: string[];
  blockRoles: string[];
}

export const isAdmin = (access: AccessConfig, userId: string): boolean => access.admins.includes(userId);

/**
 * Block lists win over allow lists; a user passes the allow lists by id or by one of their roles. Admins pass the
 * user and role lists but still respect channel lists.
 */
export function checkAccess(access: AccessConfig, request: BotRequest): Result<void> {
  const user = request.user.id;
  const roles = request.user.roles ?? [];
  const channel = request.key.channel;
  const userBlocked = access.blockUsers.includes(user) || roles.some((r) => access.blockRoles.includes(r));
  const hasAllowList = access.allowUsers.length > 0 || access.allowRoles.length > 0;
  const allowed = access.allowUsers.includes(user) || roles.some((r) => access.allowRoles.includes(r));
  const userNotAllowed = hasAllowList && !allowed;
  if (!isAdmin(access, user) && (userBlocked || userNotAllowed)) return fail('blocked-user');
  const channelBlocked = access.blockChannels.includes(channel);
  const channelNotAllowed = access.allowChannels.length > 0 && !access.allowChannels.includes(channel);
  if (channelBlocked || channelNotAllowed) return fail('blocked-channel');
  return ok(undefined);
}
