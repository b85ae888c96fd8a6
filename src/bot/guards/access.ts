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
}

export const isAdmin = (access: AccessConfig, userId: string): boolean => access.admins.includes(userId);

/** Block lists win over allow lists; admins pass the user lists but still respect channel lists. */
export function checkAccess(access: AccessConfig, request: BotRequest): Result<void> {
  const user = request.user.id;
  const channel = request.key.channel;
  const userBlocked = access.blockUsers.includes(user);
  const userNotAllowed = access.allowUsers.length > 0 && !access.allowUsers.includes(user);
  if (!isAdmin(access, user) && (userBlocked || userNotAllowed)) return fail('blocked-user');
  const channelBlocked = access.blockChannels.includes(channel);
  const channelNotAllowed = access.allowChannels.length > 0 && !access.allowChannels.includes(channel);
  if (channelBlocked || channelNotAllowed) return fail('blocked-channel');
  return ok(undefined);
}
