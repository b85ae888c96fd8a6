/**
 * Gateway close codes after which Discord will not take the bot back until its settings change: discord.js stops
 * reconnecting and says nothing. Each reads as the one line a person needs to fix it.
 */
const FATAL_CLOSES: Record<number, string> = {
  4004: 'Discord refused the token (close code 4004); set DISCORD_TOKEN to the bot token from the developer portal',
  4010: 'Discord refused the shard (close code 4010); discord.shards must be a count of at least 1, or auto',
  4011:
    'Discord requires more shards (close code 4011); set discord.shards to auto, or to at least the count ' +
    'GET /gateway/bot recommends',
  4013: 'Discord refused the gateway intents as invalid (close code 4013)',
  4014:
    'Discord refused the Message Content intent (close code 4014); switch on "Message Content Intent" under ' +
    'Bot → Privileged Gateway Intents in the developer portal, or remove discord.channels',
};

/** The explanation of a fatal close code, or undefined for one the client recovers from. */
export function fatalClose(code: number): string | undefined {
  return FATAL_CLOSES[code];
}
