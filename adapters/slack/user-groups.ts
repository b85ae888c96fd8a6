import type { webApi } from '@slack/bolt';
import type { Log } from './types.ts';

/** How long a workspace's groups are reused before Slack is asked again (usergroups.list is Tier 2: 20 a minute). */
export const USER_GROUPS_REFRESH_MS = 5 * 60_000;

interface Loaded {
  at: number;
  byUser: Map<string, string[]>;
}

/**
 * Each person's user group ids, for the role allow and block lists (`access.allowRoles`/`blockRoles` hold group
 * ids such as S0123). One `usergroups.list` with members per workspace, cached; when Slack refuses (the
 * `usergroups:read` scope missing), the last answer stands, or none, and the refusal is logged.
 */
export class UserGroups {
  private readonly teams = new Map<string, Loaded>();
  private readonly loading = new Map<string, Promise<Loaded | undefined>>();

  constructor(
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  async of(client: webApi.WebClient, team: string, user: string): Promise<string[]> {
    const cached = this.teams.get(team);
    const fresh = cached && this.now() - cached.at < USER_GROUPS_REFRESH_MS ? cached : await this.load(client, team);
    return (fresh ?? cached)?.byUser.get(user) ?? [];
  }

  private load(client: webApi.WebClient, team: string): Promise<Loaded | undefined> {
    const running = this.loading.get(team);
    if (running) return running;
    const loading = client.usergroups
      .list({ include_users: true, team_id: team })
      .then((response) => {
        const byUser = new Map<string, string[]>();
        for (const group of response.usergroups ?? []) {
          for (const member of group.users ?? []) {
            if (group.id) byUser.set(member, [...(byUser.get(member) ?? []), group.id]);
          }
        }
        const loaded = { at: this.now(), byUser };
        this.teams.set(team, loaded);
        return loaded;
      })
      .catch((error: unknown) => {
        this.log.warn({ err: error, team }, 'slack: could not read the user groups (scope usergroups:read?)');
        return undefined;
      })
      .finally(() => this.loading.delete(team));
    this.loading.set(team, loading);
    return loading;
  }
}
