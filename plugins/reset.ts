import { message } from '../src/bot/messages.ts';
import { definePlugin } from '../src/bot/plugin.ts';

/** Forgets the channel's image, turns and boxes (and the engine's caches for them). */
export default definePlugin({
  name: 'reset',
  description: 'Forget the image and the conversation in this channel',
  usesImage: false,
  options: [],
  run: ({ resetConversation }) => {
    const outcome = resetConversation();
    return outcome === 'reset-not-yours' ? { refuse: outcome } : { info: message(outcome) };
  },
});
